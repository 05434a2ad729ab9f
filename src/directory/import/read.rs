//! Reading import files: CSV (RFC 4180, a header row) and JSON lines (one object per line).

use super::{Format, Row, Table};
use crate::model::ImportError;
use std::collections::HashMap;

pub(super) fn err(line: usize, message: impl Into<String>) -> ImportError {
    ImportError {
        line,
        message: message.into(),
    }
}

/// Reads a file; rows that cannot be read are errors, the others are kept.
pub fn read(format: Format, content: &str) -> (Table, Vec<ImportError>) {
    let content = content.trim_start_matches('\u{feff}');
    match format {
        Format::Csv => read_csv(content),
        Format::Jsonl => read_jsonl(content),
    }
}

fn read_csv(content: &str) -> (Table, Vec<ImportError>) {
    let mut errors = Vec::new();
    let mut rdr = csv::ReaderBuilder::new()
        .flexible(true)
        .trim(csv::Trim::All)
        .from_reader(content.as_bytes());
    let columns: Vec<String> = match rdr.headers() {
        Ok(h) => h.iter().map(str::to_string).collect(),
        Err(e) => {
            return (
                Table::default(),
                vec![err(1, format!("the header row cannot be read: {e}"))],
            )
        }
    };
    if columns.iter().all(String::is_empty) {
        return (
            Table::default(),
            vec![err(1, "the file is empty: the first line must name the columns")],
        );
    }
    // Lines from byte offsets: the reader's own line count does not survive blank lines.
    let newlines: Vec<usize> = content.match_indices('\n').map(|(i, _)| i).collect();
    // A record's position is where the previous one ended, before any blank lines it skipped.
    let bytes = content.as_bytes();
    let line_at = |p: Option<&csv::Position>| {
        p.map(|p| {
            let mut b = p.byte() as usize;
            while b < bytes.len() && (bytes[b] == b'\n' || bytes[b] == b'\r') {
                b += 1;
            }
            newlines.partition_point(|&n| n < b) + 1
        })
        .unwrap_or(0)
    };
    let mut rows = Vec::new();
    for rec in rdr.records() {
        match rec {
            Ok(r) => {
                let line = line_at(r.position());
                if r.len() == 1 && r.get(0) == Some("") {
                    continue;
                }
                if r.len() != columns.len() {
                    errors.push(err(
                        line,
                        format!(
                            "has {} fields but the header names {} columns",
                            r.len(),
                            columns.len()
                        ),
                    ));
                    continue;
                }
                rows.push(Row {
                    line,
                    cells: r.iter().map(|c| Some(c.to_string())).collect(),
                });
            }
            Err(e) => {
                let line = line_at(e.position());
                errors.push(err(line, format!("cannot be read as CSV: {e}")));
            }
        }
    }
    (Table { columns, rows }, errors)
}

fn read_jsonl(content: &str) -> (Table, Vec<ImportError>) {
    let mut errors = Vec::new();
    let mut columns: Vec<String> = Vec::new();
    let mut index: HashMap<String, usize> = HashMap::new();
    let mut parsed = Vec::new();
    for (i, text) in content.lines().enumerate() {
        let line = i + 1;
        if text.trim().is_empty() {
            continue;
        }
        let obj = match serde_json::from_str::<serde_json::Value>(text) {
            Ok(serde_json::Value::Object(o)) => o,
            Ok(_) => {
                errors.push(err(line, "is not a JSON object"));
                continue;
            }
            Err(e) => {
                errors.push(err(line, format!("is not valid JSON: {e}")));
                continue;
            }
        };
        let mut cells = Vec::new();
        for (k, v) in obj {
            let value = match v {
                serde_json::Value::String(s) => s,
                serde_json::Value::Null => String::new(),
                serde_json::Value::Bool(b) => b.to_string(),
                serde_json::Value::Number(n) => n.to_string(),
                serde_json::Value::Array(items) => items
                    .iter()
                    .map(|i| match i {
                        serde_json::Value::String(s) => s.clone(),
                        other => other.to_string(),
                    })
                    .collect::<Vec<_>>()
                    .join(";"),
                serde_json::Value::Object(_) => {
                    errors.push(err(line, format!("{k:?} is an object; use a string")));
                    continue;
                }
            };
            let at = *index.entry(k.clone()).or_insert_with(|| {
                columns.push(k.clone());
                columns.len() - 1
            });
            cells.push((at, value));
        }
        parsed.push((line, cells));
    }
    let width = columns.len();
    let rows = parsed
        .into_iter()
        .map(|(line, cells)| {
            let mut row = vec![None; width];
            for (at, v) in cells {
                row[at] = Some(v);
            }
            Row { line, cells: row }
        })
        .collect();
    (Table { columns, rows }, errors)
}

pub(super) fn split_groups(cell: &str) -> Vec<String> {
    cell.split(';')
        .map(str::trim)
        .filter(|g| !g.is_empty())
        .map(str::to_string)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    #[test]
    fn csv_rows_keep_their_line_numbers() {
        let (t, errors) = read(
            Format::Csv,
            "\u{feff}userPrincipalName,displayName\nadele@contoso.com,\"Vance, Adele\"\n\nbad@contoso.com\n\"multi\nline@x.io\",M\n",
        );
        assert_eq!(t.columns, ["userPrincipalName", "displayName"]);
        assert_eq!(t.rows.len(), 2);
        assert_eq!(t.rows[0].line, 2);
        assert_eq!(t.rows[0].cells[1].as_deref(), Some("Vance, Adele"));
        assert_eq!(t.rows[1].line, 5);
        assert_eq!(errors.len(), 1);
        assert_eq!(errors[0].line, 4);
    }

    #[test]
    fn json_lines_leave_out_missing_keys() {
        let (t, errors) = read(
            Format::Jsonl,
            "{\"userPrincipalName\":\"a@b.co\",\"accountEnabled\":false,\"groups\":[\"Sales\",\"All\"]}\n\nnot json\n{\"userPrincipalName\":\"c@b.co\",\"department\":null}\n[1]\n",
        );
        assert_eq!(
            t.columns,
            ["userPrincipalName", "accountEnabled", "groups", "department"]
        );
        assert_eq!(t.rows[0].cells[1].as_deref(), Some("false"));
        assert_eq!(t.rows[0].cells[2].as_deref(), Some("Sales;All"));
        assert_eq!(t.rows[0].cells[3], None);
        assert_eq!(t.rows[1].line, 4);
        assert_eq!(t.rows[1].cells[3].as_deref(), Some(""));
        assert_eq!(errors.iter().map(|e| e.line).collect::<Vec<_>>(), [3, 5]);
    }

    #[test]
    fn formats_are_detected() {
        assert_eq!(Format::detect("users.csv", "{"), Format::Csv);
        assert_eq!(Format::detect("users.jsonl", ""), Format::Jsonl);
        assert_eq!(Format::detect("upload", "  {\"a\":1}"), Format::Jsonl);
        assert_eq!(Format::detect("upload", "userPrincipalName"), Format::Csv);
    }

    #[test]
    fn group_cells_split_on_semicolons() {
        assert_eq!(split_groups(" Sales ; ;All staff"), ["Sales", "All staff"]);
    }
}
