//! The wasmtime side: one engine per process (pooling allocator, epoch interruption, fuel), one
//! linker with a locked-down WASI, `wasi:http` behind an allow-list, and Kith's own imports;
//! every hook call gets a fresh store and instance, bounded in wall time, fuel, memory, tables
//! and instances, and is dropped after.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use wasmtime::component::{Component, HasSelf, Linker, ResourceTable};
use wasmtime::{Config, Engine, InstanceAllocationStrategy, PoolingAllocationConfig, Store, Trap, UpdateDeadline};
use wasmtime_wasi::p2::pipe::MemoryOutputPipe;
use wasmtime_wasi::{WasiCtx, WasiCtxBuilder, WasiCtxView, WasiView};
use wasmtime_wasi_http::{WasiHttpCtx, WasiHttpCtxView, WasiHttpView};

use super::imports::CallEnv;
use super::outbound::Outbound;

/// Bindings generated from `plugin-sdk/wit/plugin.wit`.
pub mod bindings {
    wasmtime::component::bindgen!({
        world: "plugin",
        path: "../plugin-sdk/wit",
        imports: { default: async },
        exports: { default: async },
    });
}

pub use bindings::{Plugin, PluginPre};

/// The epoch ticks every this long; deadlines are counted in ticks.
pub const TICK: Duration = Duration::from_millis(10);
/// Bytes of stderr kept per call (more traps the plugin).
const STDERR_CAP: usize = 64 * 1024;
pub use super::limits::MAX_MEMORY_BYTES;
/// Elements per table (wasmtime's own default, which RELIABILITY P4 asks to keep or lower; the
/// SDK's plugins use a few hundred).
const MAX_TABLE_ELEMENTS: usize = 10_000;
/// Core instances, memories and tables a component may create (an SDK plugin needs a few for
/// its WASI adapter).
const MAX_INSTANCES: usize = 32;
const MAX_MEMORIES: usize = 8;
const MAX_TABLES: usize = 16;
/// Component instances alive at once across every plugin (sized to real concurrency: each
/// slot reserves address space).
const POOL_INSTANCES: u32 = 128;

/// The process's engine and linker, and whether the pooling allocator could be used.
pub struct Runtime {
    pub engine: Engine,
    pub linker: Linker<HostState>,
    pub pooling: bool,
}

static RUNTIME: OnceLock<Result<Arc<Runtime>, String>> = OnceLock::new();

/// The one engine (with its epoch ticker thread) every plugin of this process runs on.
pub fn runtime() -> Result<Arc<Runtime>, String> {
    RUNTIME.get_or_init(|| build_runtime().map(Arc::new)).clone()
}

fn engine_config(pooling: bool) -> Config {
    let mut c = Config::new();
    c.epoch_interruption(true);
    c.consume_fuel(true);
    c.max_wasm_stack(512 * 1024);
    if pooling {
        let mut p = PoolingAllocationConfig::default();
        p.total_component_instances(POOL_INSTANCES)
            .total_core_instances(POOL_INSTANCES * 8)
            .total_memories(POOL_INSTANCES * 2)
            .total_tables(POOL_INSTANCES * 4)
            .total_stacks(POOL_INSTANCES)
            .max_memories_per_component(MAX_MEMORIES as u32)
            .max_tables_per_component(MAX_TABLES as u32)
            .max_memory_size(MAX_MEMORY_BYTES)
            .table_elements(MAX_TABLE_ELEMENTS)
            .linear_memory_keep_resident(2 << 20)
            .table_keep_resident(512 << 10)
            // reset only the pages a call dirtied, where the kernel can tell (Linux 6.7+)
            .pagemap_scan(wasmtime::Enabled::Auto);
        c.allocation_strategy(InstanceAllocationStrategy::Pooling(p));
    }
    c
}

fn build_runtime() -> Result<Runtime, String> {
    // The pooling allocator reserves its address space up front; where that is refused (a
    // tight `ulimit -v`), instances are allocated on demand instead (slower, same limits).
    let (engine, pooling) = match Engine::new(&engine_config(true)) {
        Ok(e) => (e, true),
        Err(e) => {
            tracing::warn!(error = %e, "plugin pooling allocator unavailable; allocating plugin instances on demand");
            (Engine::new(&engine_config(false)).map_err(|e| format!("plugin engine: {e}"))?, false)
        }
    };
    let mut linker: Linker<HostState> = Linker::new(&engine);
    wasmtime_wasi::p2::add_to_linker_async(&mut linker).map_err(|e| format!("plugin linker (WASI): {e}"))?;
    wasmtime_wasi_http::p2::add_only_http_to_linker_async(&mut linker)
        .map_err(|e| format!("plugin linker (wasi:http): {e}"))?;
    Plugin::add_to_linker::<HostState, HasSelf<HostState>>(&mut linker, |s| s)
        .map_err(|e| format!("plugin linker (kith:plugin): {e}"))?;
    let weak = engine.weak();
    std::thread::Builder::new()
        .name("kith-plugin-epoch".into())
        .spawn(move || {
            while let Some(engine) = weak.upgrade() {
                engine.increment_epoch();
                drop(engine);
                std::thread::sleep(TICK);
            }
        })
        .map_err(|e| format!("plugin epoch ticker: {e}"))?;
    Ok(Runtime { engine, linker, pooling })
}

/// What a store holds during one call.
pub struct HostState {
    wasi: WasiCtx,
    http: WasiHttpCtx,
    table: ResourceTable,
    pub(super) outbound: Outbound,
    limiter: Limiter,
    pub(super) env: Arc<CallEnv>,
}

impl WasiView for HostState {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView { ctx: &mut self.wasi, table: &mut self.table }
    }
}

impl WasiHttpView for HostState {
    fn http(&mut self) -> WasiHttpCtxView<'_> {
        WasiHttpCtxView { ctx: &mut self.http, table: &mut self.table, hooks: &mut self.outbound }
    }
}

/// Memory, table and instance caps; remembers whether it refused memory (a memory bomb).
struct Limiter {
    memory_bytes: usize,
    refused_memory: Arc<AtomicBool>,
}

impl wasmtime::ResourceLimiter for Limiter {
    fn memory_growing(&mut self, _current: usize, desired: usize, _maximum: Option<usize>) -> wasmtime::Result<bool> {
        if desired > self.memory_bytes {
            self.refused_memory.store(true, Ordering::Relaxed);
            wasmtime::bail!("plugin memory limit of {} MiB reached", self.memory_bytes >> 20);
        }
        Ok(true)
    }

    fn table_growing(&mut self, _current: usize, desired: usize, _maximum: Option<usize>) -> wasmtime::Result<bool> {
        if desired > MAX_TABLE_ELEMENTS {
            wasmtime::bail!("plugin table limit of {MAX_TABLE_ELEMENTS} elements reached");
        }
        Ok(true)
    }

    fn instances(&self) -> usize {
        MAX_INSTANCES
    }
    fn tables(&self) -> usize {
        MAX_TABLES
    }
    fn memories(&self) -> usize {
        MAX_MEMORIES
    }
}

/// The bounds of one call.
#[derive(Debug, Clone, Copy)]
pub struct Budget {
    pub time: Duration,
    pub fuel: u64,
    pub memory_bytes: usize,
}

/// Why a call failed without an answer from the plugin.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fault {
    /// Ran past its wall-time budget.
    Timeout,
    /// Used up its fuel.
    CpuLimit,
    /// Asked for more memory than allowed.
    MemoryLimit,
    /// Recursed too deep.
    StackOverflow,
    /// Panicked (the message from its stderr).
    Panic(String),
    /// Any other trap or host-side error.
    Trap(String),
    /// Answered something the host does not accept (too big, malformed).
    Malformed(String),
    /// Too many calls of this plugin running already.
    Busy,
}

impl Fault {
    pub fn class(&self) -> &'static str {
        match self {
            Fault::Timeout => "timeout",
            Fault::CpuLimit => "cpu_limit",
            Fault::MemoryLimit => "memory_limit",
            Fault::StackOverflow => "stack_overflow",
            Fault::Panic(_) => "panic",
            Fault::Trap(_) => "trap",
            Fault::Malformed(_) => "malformed",
            Fault::Busy => "busy",
        }
    }
}

impl std::fmt::Display for Fault {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Fault::Panic(m) | Fault::Trap(m) | Fault::Malformed(m) => write!(f, "{}: {m}", self.class()),
            _ => f.write_str(self.class()),
        }
    }
}

/// A store armed for one call, and what to read back from it afterwards.
pub struct Armed {
    pub store: Store<HostState>,
    stderr: MemoryOutputPipe,
    refused_memory: Arc<AtomicBool>,
}

/// Builds a fresh store: WASI with nothing inherited (no files, environment, arguments,
/// sockets or name lookups), stderr captured, limits and deadlines armed.
pub fn arm(engine: &Engine, env: Arc<CallEnv>, outbound: Outbound, budget: Budget) -> wasmtime::Result<Armed> {
    let stderr = MemoryOutputPipe::new(STDERR_CAP);
    let wasi = WasiCtxBuilder::new().stderr(stderr.clone()).allow_tcp(false).allow_udp(false).build();
    let refused_memory = Arc::new(AtomicBool::new(false));
    let limiter = Limiter { memory_bytes: budget.memory_bytes, refused_memory: refused_memory.clone() };
    let state = HostState { wasi, http: WasiHttpCtx::new(), table: ResourceTable::new(), outbound, limiter, env };
    let mut store = Store::new(engine, state);
    store.limiter(|s| &mut s.limiter);
    store.set_fuel(budget.fuel)?;
    let deadline = Instant::now() + budget.time;
    store.set_epoch_deadline(1);
    // Yield to tokio at every tick (a busy plugin never holds a worker thread for more than
    // one tick) and trap once the budget is spent.
    store.epoch_deadline_callback(move |_| {
        Ok(if Instant::now() >= deadline { UpdateDeadline::Interrupt } else { UpdateDeadline::Yield(1) })
    });
    Ok(Armed { store, stderr, refused_memory })
}

impl Armed {
    /// The plugin's stderr so far, lossily decoded.
    pub fn stderr(&self) -> String {
        String::from_utf8_lossy(&self.stderr.contents()).into_owned()
    }

    /// Turns an error from instantiating or calling into a fault class.
    pub fn classify(&self, e: &wasmtime::Error) -> Fault {
        if self.refused_memory.load(Ordering::Relaxed) {
            return Fault::MemoryLimit;
        }
        match e.downcast_ref::<Trap>() {
            Some(Trap::Interrupt) => Fault::Timeout,
            Some(Trap::OutOfFuel) => Fault::CpuLimit,
            Some(Trap::StackOverflow) => Fault::StackOverflow,
            Some(Trap::UnreachableCodeReached) => match panic_message(&self.stderr()) {
                Some(m) => Fault::Panic(m),
                None => Fault::Trap("unreachable code reached".into()),
            },
            Some(t) => Fault::Trap(t.to_string()),
            None => Fault::Trap(first_line(&format!("{e:#}"))),
        }
    }
}

/// `panicked at src/lib.rs:3:5:\nmessage` → `message (src/lib.rs:3:5)`.
fn panic_message(stderr: &str) -> Option<String> {
    let at = stderr.find("panicked at ")?;
    let rest = &stderr[at + "panicked at ".len()..];
    let (location, message) = rest.split_once('\n').unwrap_or((rest, ""));
    let message = message.lines().next().unwrap_or("").trim();
    Some(truncate(&format!("{message} ({})", location.trim_end_matches(':')), 500))
}

fn first_line(s: &str) -> String {
    truncate(s.lines().next().unwrap_or(""), 500)
}

pub fn truncate(s: &str, max: usize) -> String {
    if s.len() <= max {
        return s.to_string();
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &s[..end])
}

/// Compiles a component (off the async workers: seconds for a big one).
pub fn compile(engine: &Engine, wasm: &[u8]) -> Result<Component, String> {
    Component::new(engine, wasm)
        .map_err(|e| format!("not a valid WebAssembly component: {}", first_line(&format!("{e:#}"))))
}

/// Loads a component this server compiled and cached itself.
#[allow(unsafe_code)]
pub fn load_cached(engine: &Engine, path: &std::path::Path) -> Option<Component> {
    // SAFETY: `deserialize_file` trusts the file to be wasmtime's own output. Only files this
    // server wrote into its private cache directory, named by the component's SHA-256 and this
    // engine's compatibility hash, are read; wasmtime also checks its version header.
    unsafe { Component::deserialize_file(engine, path) }.ok()
}

/// The key under which a compiled component is cached: the engine's compatibility hash.
pub fn engine_key(engine: &Engine) -> String {
    use std::hash::{Hash, Hasher};
    let mut h = std::collections::hash_map::DefaultHasher::new();
    engine.precompile_compatibility_hash().hash(&mut h);
    format!("{:016x}", h.finish())
}

/// The `kith:plugin` versions a component's interfaces name, e.g. `["0.1.0"]`.
pub fn api_versions(engine: &Engine, component: &Component) -> Vec<String> {
    let ty = component.component_type();
    let mut versions: Vec<String> = ty
        .exports(engine)
        .map(|(name, _)| name.to_string())
        .chain(ty.imports(engine).map(|(name, _)| name.to_string()))
        .filter_map(|name| {
            name.strip_prefix("kith:plugin/").and_then(|r| r.split_once('@')).map(|(_, v)| v.to_string())
        })
        .collect();
    versions.sort();
    versions.dedup();
    versions
}

/// The `kith:plugin` interfaces a component exports (`field-type`, ...).
pub fn exported_interfaces(engine: &Engine, component: &Component) -> Vec<String> {
    component
        .component_type()
        .exports(engine)
        .filter_map(|(name, _)| name.strip_prefix("kith:plugin/").map(|r| r.split('@').next().unwrap_or(r).to_string()))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn panic_text_is_read_from_stderr() {
        let s = "thread '<unnamed>' panicked at src/lib.rs:10:9:\nhostile trap\nnote: run with RUST_BACKTRACE=1";
        assert_eq!(panic_message(s).as_deref(), Some("hostile trap (src/lib.rs:10:9)"));
        assert_eq!(panic_message("nothing"), None);
    }

    #[test]
    fn truncation_keeps_utf8_whole() {
        assert_eq!(truncate("ééé", 3), "é…");
        assert_eq!(truncate("abc", 3), "abc");
    }
}
