//! The console (pages, server functions, its static files) is served on render threads of its
//! own, one request on one thread from its first byte to the end of its body.
//!
//! Why: Leptos's reactive graph (reactive_graph 0.2) takes its locks in an order that deadlocks
//! when one page's effects and async resources are polled on two threads at once (upstream
//! leptos-rs/leptos#4673). On tokio's work-stealing runtime that happened under ordinary load
//! (two browsers opening mapping pages) and blocked both of its workers in `RwLock::write`, and
//! with them SCIM, the provisioning engine and even the handling of SIGTERM.
//!
//! How: each render thread runs a [`LocalSet`] on the main runtime's handle, so I/O and timers are
//! still driven by the main runtime (a database connection opened here belongs to no thread in
//! particular), while every task Leptos spawns for a page ([`Spawner`]) stays on the thread that
//! renders it: the graph of one page is never touched by two threads at once. Work the application
//! spawns itself with `tokio::spawn` (an import, an audit retry) still goes to the main runtime.
//!
//! A watchdog is the second line: a render thread that stops answering for [`STUCK`] (a bug of
//! the same kind in some future version) is logged as an error, no longer given requests and
//! replaced by a fresh one, so the console recovers without a restart; `/readyz` fails only when
//! no render thread answers.

use crate::server::plain_error;
use axum::body::{Body, Bytes};
use axum::extract::Request;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Router;
use http_body::{Frame, SizeHint};
use std::cell::Cell;
use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};
use tokio::sync::{mpsc, oneshot};
use tokio::task::LocalSet;

/// How long a render thread may go without a heartbeat before it counts as stuck. Rendering never
/// blocks its thread this long: waits for the database are awaits, not blocks.
const STUCK: Duration = Duration::from_secs(30);
/// Stuck threads replaced at most, over the life of the process; each keeps the memory of the
/// requests it was rendering, so past this the server says it needs a restart instead.
const MAX_REPLACED: usize = 16;
/// Frames buffered between a render thread and the connection that sends them.
const PIPE: usize = 8;
/// How long a stopping server waits for render threads once it abandoned what they did.
const ABANDON: Duration = Duration::from_secs(1);

thread_local! {
    static RENDER_THREAD: Cell<bool> = const { Cell::new(false) };
}

/// Leptos's spawner: on a render thread, tasks stay on it; elsewhere they go to the runtime.
struct Spawner;

impl any_spawner::CustomExecutor for Spawner {
    fn spawn(&self, fut: any_spawner::PinnedFuture<()>) {
        if RENDER_THREAD.get() {
            tokio::task::spawn_local(fut);
        } else {
            tokio::spawn(fut);
        }
    }

    fn spawn_local(&self, fut: any_spawner::PinnedLocalFuture<()>) {
        tokio::task::spawn_local(fut);
    }

    fn poll_local(&self) {}
}

/// Makes [`Spawner`] Leptos's executor. Must run before anything of Leptos's does (route list
/// generation included): the first executor set wins, and leptos_axum's own `init_tokio` is then a
/// no-op. Logs an error if another executor got there first, since pages would then deadlock again.
pub fn install_spawner() {
    static INSTALLED: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    let ours = *INSTALLED.get_or_init(|| any_spawner::Executor::init_custom_executor(Spawner).is_ok());
    if !ours {
        tracing::error!(
            "Leptos's task executor was set before the render threads': console pages may deadlock"
        );
    }
}

type Job = (Request, oneshot::Sender<Response>);

struct Worker {
    jobs: mpsc::UnboundedSender<Job>,
    /// Closed when the thread ends (its sender is dropped with the thread's state).
    ended: mpsc::Receiver<()>,
    /// Milliseconds since [`Shared::epoch`] of the thread's last heartbeat.
    beat: Arc<AtomicU64>,
    stuck: bool,
}

struct Shared {
    app: Router,
    runtime: tokio::runtime::Handle,
    epoch: Instant,
    /// [`STUCK`], shorter in tests.
    stuck: Duration,
    workers: Mutex<Vec<Worker>>,
    next: AtomicUsize,
    replaced: AtomicUsize,
    /// Requests being rendered or piped on any render thread.
    in_flight: AtomicUsize,
    /// Set when the server stops and the grace period for requests in flight is over: whatever
    /// a render thread is still doing is abandoned.
    abandon: tokio::sync::watch::Sender<bool>,
}

/// The console's router behind its render threads: a tower service for `fallback_service`.
#[derive(Clone)]
pub struct RenderThreads {
    shared: Arc<Shared>,
}

impl RenderThreads {
    /// Starts `threads` render threads serving `app`, and their watchdog. Must be called inside
    /// the main runtime.
    pub fn start(app: Router, threads: usize) -> std::io::Result<RenderThreads> {
        Self::start_with(app, threads, STUCK)
    }

    fn start_with(app: Router, threads: usize, stuck: Duration) -> std::io::Result<RenderThreads> {
        install_spawner();
        let shared = Arc::new(Shared {
            app,
            runtime: tokio::runtime::Handle::current(),
            epoch: Instant::now(),
            stuck,
            workers: Mutex::new(Vec::new()),
            next: AtomicUsize::new(0),
            replaced: AtomicUsize::new(0),
            in_flight: AtomicUsize::new(0),
            abandon: tokio::sync::watch::Sender::new(false),
        });
        let workers = (0..threads.max(1))
            .map(|n| spawn_worker(&shared, n))
            .collect::<std::io::Result<Vec<_>>>()?;
        *lock(&shared.workers) = workers;
        tokio::spawn(watch(Arc::downgrade(&shared)));
        Ok(RenderThreads { shared })
    }

    /// Render threads for this machine: one per core, at least two, at most eight.
    pub fn default_count() -> usize {
        std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(2)
            .clamp(2, 8)
    }

    /// Ends the render threads once the server has stopped accepting requests: each finishes
    /// what it is rendering, then ends. Waits up to `within` for them, so that the runtime they
    /// run on is not shut down under them (a timer used after that panics); then abandons what
    /// they still do (a page whose body nobody reads) and waits briefly for that. Never blocks a
    /// thread of the runtime, so nothing is left for the runtime's own shutdown to wait for.
    /// Returns whether every render thread ended.
    pub async fn stop(&self, within: Duration) -> bool {
        // Dropping the senders ends each thread's request loop.
        let workers = std::mem::take(&mut *lock(&self.shared.workers));
        let mut ended: Vec<_> = workers
            .into_iter()
            .filter(|w| !w.stuck)
            .map(|w| w.ended)
            .collect();
        if tokio::time::timeout(within, all_ended(&mut ended)).await.is_ok() {
            return true;
        }
        tracing::warn!(
            in_flight = self.in_flight(),
            "console requests still rendering at shutdown; abandoning them"
        );
        self.shared.abandon.send_replace(true);
        let done = tokio::time::timeout(ABANDON, all_ended(&mut ended)).await.is_ok();
        if !done {
            tracing::warn!("console render threads still busy at shutdown; stopping anyway");
        }
        done
    }

    /// Requests being rendered, or their bodies piped, right now.
    pub fn in_flight(&self) -> usize {
        self.shared.in_flight.load(Ordering::Relaxed)
    }

    /// Whether at least one render thread answers (for `/readyz`).
    pub fn healthy(&self) -> bool {
        let now = self.shared.now();
        lock(&self.shared.workers)
            .iter()
            .any(|w| !w.stuck && self.shared.fresh(w, now))
    }

    /// The next answering render thread, round robin.
    fn pick(&self) -> Option<mpsc::UnboundedSender<Job>> {
        let now = self.shared.now();
        let workers = lock(&self.shared.workers);
        let start = self.shared.next.fetch_add(1, Ordering::Relaxed);
        (0..workers.len())
            .map(|i| &workers[(start + i) % workers.len()])
            .find(|w| !w.stuck && self.shared.fresh(w, now))
            .map(|w| w.jobs.clone())
    }

    async fn dispatch(self, req: Request) -> Response {
        let Some(jobs) = self.pick() else {
            return plain_error(
                StatusCode::SERVICE_UNAVAILABLE,
                "The console is not answering; the server log says why. SCIM is not affected.",
            );
        };
        let (reply, answer) = oneshot::channel();
        if jobs.send((req, reply)).is_err() {
            return plain_error(StatusCode::SERVICE_UNAVAILABLE, "The console is restarting.");
        }
        // A render task that panicked drops its reply without answering.
        answer.await.unwrap_or_else(|_| {
            plain_error(
                StatusCode::INTERNAL_SERVER_ERROR,
                "The page could not be rendered; the server log says why.",
            )
        })
    }
}

impl tower::Service<Request> for RenderThreads {
    type Response = Response;
    type Error = Infallible;
    type Future = Pin<Box<dyn Future<Output = Result<Response, Infallible>> + Send>>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, req: Request) -> Self::Future {
        let this = self.clone();
        Box::pin(async move { Ok(this.dispatch(req).await) })
    }
}

impl Shared {
    fn now(&self) -> u64 {
        self.epoch.elapsed().as_millis() as u64
    }

    fn fresh(&self, w: &Worker, now: u64) -> bool {
        now.saturating_sub(w.beat.load(Ordering::Relaxed)) < self.stuck.as_millis() as u64
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

fn spawn_worker(shared: &Arc<Shared>, n: usize) -> std::io::Result<Worker> {
    let (jobs, mut rx) = mpsc::unbounded_channel::<Job>();
    let (end, ended) = mpsc::channel::<()>(1);
    let beat = Arc::new(AtomicU64::new(shared.now()));
    let weak = Arc::downgrade(shared);
    let (app, runtime, epoch, heart) = (
        shared.app.clone(),
        shared.runtime.clone(),
        shared.epoch,
        beat.clone(),
    );
    let beat_every = shared.stuck / 30;
    let thread = std::thread::Builder::new()
        .name(format!("provisio-render-{n}"))
        .spawn(move || {
            // Dropped when this thread ends, however it ends: what `stop` waits for.
            let _end = end;
            RENDER_THREAD.set(true);
            let local = LocalSet::new();
            let heartbeat = local.spawn_local(async move {
                loop {
                    heart.store(epoch.elapsed().as_millis() as u64, Ordering::Relaxed);
                    tokio::time::sleep(beat_every).await;
                }
            });
            local.spawn_local(async move {
                while let Some((req, reply)) = rx.recv().await {
                    let Some(shared) = weak.upgrade() else { break };
                    tokio::task::spawn_local(serve(shared, app.clone(), req, reply));
                }
                // Replaced (or the server stopped): no more heartbeats; what is in flight
                // finishes, then the thread ends.
                heartbeat.abort();
            });
            // Resolves once every task on this thread is done.
            runtime.block_on(local);
        })?;
    drop(thread);
    Ok(Worker {
        jobs,
        ended,
        beat,
        stuck: false,
    })
}

/// Resolves once every one of these render threads has ended.
async fn all_ended(ended: &mut [mpsc::Receiver<()>]) {
    for e in ended {
        while e.recv().await.is_some() {}
    }
}

/// Handles one request on this render thread and pipes its body to the connection, unless the
/// server abandons it first (see [`RenderThreads::stop`]).
async fn serve(shared: Arc<Shared>, app: Router, req: Request, reply: oneshot::Sender<Response>) {
    shared.in_flight.fetch_add(1, Ordering::Relaxed);
    let mut abandon = shared.abandon.subscribe();
    tokio::select! {
        () = render(app, req, reply) => {}
        _ = abandon.wait_for(|a| *a) => {}
    }
    shared.in_flight.fetch_sub(1, Ordering::Relaxed);
}

async fn render(app: Router, req: Request, reply: oneshot::Sender<Response>) {
    use tower::ServiceExt;
    let mut reply = reply;
    let response = tokio::select! {
        r = app.oneshot(req) => r.into_response(),
        // The client went away before the headers: stop rendering.
        _ = reply.closed() => return,
    };
    let (parts, mut body) = response.into_parts();
    let (tx, rx) = mpsc::channel(PIPE);
    let piped = Piped {
        rx,
        hint: http_body::Body::size_hint(&body),
    };
    if reply.send(Response::from_parts(parts, Body::new(piped))).is_err() {
        return;
    }
    loop {
        // A closed pipe is a client that went away: dropping the body stops the rendering, also
        // while the page waits for something before its next frame.
        let frame = tokio::select! {
            frame = std::future::poll_fn(|cx| http_body::Body::poll_frame(Pin::new(&mut body), cx)) => frame,
            () = tx.closed() => break,
        };
        let Some(frame) = frame else { break };
        if tx.send(frame).await.is_err() {
            break;
        }
    }
}

/// The connection's side of a response body rendered on a render thread. Keeps the original size
/// hint, so files still go out with their Content-Length.
struct Piped {
    rx: mpsc::Receiver<Result<Frame<Bytes>, axum::Error>>,
    hint: SizeHint,
}

impl http_body::Body for Piped {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, axum::Error>>> {
        self.rx.poll_recv(cx)
    }

    fn size_hint(&self) -> SizeHint {
        self.hint
    }
}

/// Every few seconds: a render thread without a heartbeat for [`STUCK`] is taken out of service
/// and replaced. Ends when the server's router is dropped.
async fn watch(shared: std::sync::Weak<Shared>) {
    let every = shared.upgrade().map_or(Duration::from_secs(5), |s| s.stuck / 6);
    let mut tick = tokio::time::interval(every);
    loop {
        tick.tick().await;
        let Some(shared) = shared.upgrade() else {
            return;
        };
        let now = shared.now();
        let mut workers = lock(&shared.workers);
        for (n, w) in workers.iter_mut().enumerate() {
            if w.stuck || shared.fresh(w, now) {
                continue;
            }
            let silent = now.saturating_sub(w.beat.load(Ordering::Relaxed)) / 1000;
            if shared.replaced.fetch_add(1, Ordering::Relaxed) >= MAX_REPLACED {
                w.stuck = true;
                tracing::error!(
                    thread = n,
                    silent_s = silent,
                    "a console render thread has stopped answering and {MAX_REPLACED} were \
                     replaced already: restart the server. SCIM and provisioning are not affected"
                );
                continue;
            }
            match spawn_worker(&shared, n) {
                Ok(fresh) => {
                    tracing::error!(
                        thread = n,
                        silent_s = silent,
                        "a console render thread stopped answering (a rendering bug); its \
                         requests are lost and a new thread serves the console"
                    );
                    *w = fresh;
                }
                Err(e) => {
                    w.stuck = true;
                    tracing::error!(thread = n, error = %e, "cannot replace a stuck console render thread");
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::routing::get;
    use tower::ServiceExt;

    async fn body_text(r: Response) -> String {
        let bytes = axum::body::to_bytes(r.into_body(), 1 << 20).await.unwrap();
        String::from_utf8(bytes.to_vec()).unwrap()
    }

    fn request(path: &str) -> Request {
        Request::builder().uri(path).body(Body::empty()).unwrap()
    }

    /// What Leptos spawns while rendering runs on the thread that renders, never on the runtime's
    /// workers: the guarantee that keeps one page's graph on one thread.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn what_a_page_spawns_stays_on_its_render_thread() {
        let app = Router::new().route(
            "/",
            get(|| async {
                let here = std::thread::current().id();
                let (tx, rx) = oneshot::channel();
                any_spawner::Executor::spawn(async move {
                    let _ = tx.send(std::thread::current().id());
                });
                let there = rx.await.unwrap();
                format!(
                    "{} {}",
                    here == there,
                    std::thread::current().name().unwrap_or("")
                )
            }),
        );
        let render = RenderThreads::start(app, 2).unwrap();
        for _ in 0..20 {
            let text = body_text(render.clone().oneshot(request("/")).await.unwrap()).await;
            assert!(text.starts_with("true provisio-render-"), "{text}");
        }
        // Elsewhere Leptos's tasks still go to the runtime.
        let (tx, rx) = oneshot::channel();
        any_spawner::Executor::spawn(async move {
            let _ = tx.send(std::thread::current().name().map(str::to_string));
        });
        assert!(!rx
            .await
            .unwrap()
            .unwrap_or_default()
            .starts_with("provisio-render"));
    }

    /// A page whose body never ends (it waits for something that does not come) and a client
    /// that stops reading it.
    fn never_ending() -> Router {
        Router::new().route(
            "/forever",
            get(|| async {
                let first = futures_util::stream::once(async { Ok::<_, Infallible>(Bytes::from("first")) });
                Body::from_stream(futures_util::StreamExt::chain(
                    first,
                    futures_util::stream::pending(),
                ))
            }),
        )
    }

    /// A client that goes away while a page waits before its next frame ends the rendering at
    /// once: it does not hold its render thread's task until the page would have continued.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_client_that_goes_away_mid_page_ends_its_rendering() {
        let render = RenderThreads::start(never_ending(), 1).unwrap();
        let r = render.clone().oneshot(request("/forever")).await.unwrap();
        assert_eq!(r.status(), StatusCode::OK);
        assert_eq!(render.in_flight(), 1);
        drop(r);
        for _ in 0..100 {
            if render.in_flight() == 0 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        assert_eq!(render.in_flight(), 0, "the rendering goes on for nobody");
        assert!(render.stop(Duration::from_secs(5)).await);
    }

    /// The server stops even while a page it is sending is never read to the end: the render
    /// threads abandon it after the grace period, and nothing is left on the runtime for its
    /// shutdown to wait for (the process used to hang at exit, after its "stopping anyway").
    #[test]
    fn stopping_never_waits_forever_for_a_page_nobody_reads() {
        let (done, finished) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()
                .unwrap();
            let kept = runtime.block_on(async {
                let render = RenderThreads::start(never_ending(), 1).unwrap();
                // Held, never read: the page's task waits for its next frame.
                let kept = render.clone().oneshot(request("/forever")).await.unwrap();
                let _ = render.stop(Duration::from_millis(200)).await;
                kept
            });
            drop(runtime);
            drop(kept);
            let _ = done.send(());
        });
        assert!(
            finished.recv_timeout(Duration::from_secs(30)).is_ok(),
            "the runtime's shutdown waited for a render thread that never ends"
        );
    }

    /// A thread blocked by a rendering bug is replaced: later requests are answered by others,
    /// the pool stays healthy, and a streamed body keeps its length.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_stuck_render_thread_is_replaced_and_the_console_keeps_answering() {
        let app = Router::new()
            .route(
                "/block",
                get(|| async {
                    std::thread::sleep(Duration::from_secs(3));
                    "late"
                }),
            )
            .route("/ok", get(|| async { "x".repeat(100_000) }));
        // One thread: only its replacement can answer while it is blocked.
        let render = RenderThreads::start_with(app, 1, Duration::from_millis(600)).unwrap();
        let blocked = tokio::spawn(render.clone().oneshot(request("/block")));
        tokio::time::sleep(Duration::from_millis(1_500)).await;
        assert!(render.healthy());
        assert_eq!(render.shared.replaced.load(Ordering::Relaxed), 1);
        for _ in 0..10 {
            let r = tokio::time::timeout(Duration::from_secs(2), render.clone().oneshot(request("/ok")))
                .await
                .expect("answered by a thread that is not stuck")
                .unwrap();
            assert_eq!(r.status(), StatusCode::OK);
            assert_eq!(http_body::Body::size_hint(r.body()).exact(), Some(100_000));
            assert_eq!(body_text(r).await.len(), 100_000);
        }
        // The blocked request still finishes once its thread is free again.
        let late = blocked.await.unwrap().unwrap();
        assert_eq!(body_text(late).await, "late");
    }
}
