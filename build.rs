//! Build steps of the server:
//! - `sqlx::migrate!` embeds the migrations at compile time: rebuild when they change.
//! - With `PROVISIO_EMBED_SITE` (set by scripts/build.sh), the compiled browser bundle in that
//!   directory is embedded in the binary (`src/assets.rs`), with the `.br` / `.gz` copies
//!   scripts/build.sh made of each file, and a version derived from the contents for the URLs of
//!   the bundle (cached for a year by browsers). Without it nothing is embedded and the server
//!   serves the site from disk (`--site-root`).

use std::hash::{Hash, Hasher};
use std::path::{Path, PathBuf};

fn files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    let mut entries: Vec<PathBuf> = entries.filter_map(|e| e.ok().map(|e| e.path())).collect();
    entries.sort();
    for p in entries {
        if p.is_dir() {
            files(&p, out);
        } else if !matches!(p.extension().and_then(|e| e.to_str()), Some("br" | "gz")) {
            out.push(p);
        }
    }
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    println!("cargo:rerun-if-changed=migrations");
    println!("cargo:rerun-if-env-changed=PROVISIO_EMBED_SITE");
    let out = PathBuf::from(std::env::var("OUT_DIR")?);
    let mut code = String::from("pub static FILES: &[Asset] = &[\n");
    // DefaultHasher::new() has fixed keys: the same contents give the same version.
    let mut version = std::collections::hash_map::DefaultHasher::new();
    let mut any = false;
    if let Some(site) = std::env::var_os("PROVISIO_EMBED_SITE").filter(|s| !s.is_empty()) {
        let site = PathBuf::from(site);
        let stamp = site.with_extension("stamp");
        println!("cargo:rerun-if-changed={}", stamp.display());
        let mut list = Vec::new();
        files(&site, &mut list);
        for f in list {
            let rel = f.strip_prefix(&site)?.to_string_lossy().replace('\\', "/");
            let bytes = std::fs::read(&f)?;
            rel.hash(&mut version);
            bytes.hash(&mut version);
            let beside = |ext: &str| {
                let p = PathBuf::from(format!("{}.{ext}", f.display()));
                match p.is_file() {
                    true => format!("include_bytes!({:?})", p.display().to_string()),
                    false => "&[]".to_string(),
                }
            };
            code.push_str(&format!(
                "    Asset {{ path: {rel:?}, raw: include_bytes!({:?}), brotli: {}, gzip: {} }},\n",
                f.display().to_string(),
                beside("br"),
                beside("gz"),
            ));
            any = true;
        }
    }
    code.push_str("];\n");
    let version = if any {
        format!("{:016x}", version.finish())
    } else {
        String::new()
    };
    code.push_str(&format!("pub const VERSION: &str = {version:?};\n"));
    std::fs::write(out.join("site.rs"), code)?;
    Ok(())
}
