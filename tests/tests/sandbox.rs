//! The plugin engine's own bounds, tested with hand-made components rather than SDK plugins
//! (RELIABILITY P2, P4, P10): fuel is counted the same on every run; tables and
//! core instances past their caps are refused; malformed, mutated and oversized `.wasm` files
//! are refused with an error, in bounded time, without a panic.
//!
//! These run the real engine (`host::runtime()`: pooling allocator, epoch ticker, fuel) and the
//! real per-call store (`host::arm`: the resource limiter, deadlines). The call environment
//! needs a store, which nothing here reads or writes, so SQLite alone serves.

use std::sync::Arc;
use std::sync::atomic::AtomicU64;
use std::time::{Duration, Instant};

use kith::clock::SystemClock;
use kith::config::Config;
use kith::plugins::host::{self, Budget, Fault};
use kith::plugins::imports::CallEnv;
use kith::plugins::outbound::Outbound;
use kith::store::Store;
use kith_tests::plugins::PluginDir;
use kith_tests::random_suffix;
use wasm_encoder::{
    BlockType, CodeSection, Component, ExportKind, ExportSection, Function, FunctionSection, HeapType, InstanceSection,
    Module, ModuleArg, ModuleSection, RefType, StartSection, TableSection, TableType, TypeSection, ValType,
};

struct Sandbox {
    runtime: Arc<host::Runtime>,
    env: Arc<CallEnv>,
    dir: std::path::PathBuf,
}

impl Drop for Sandbox {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

async fn sandbox() -> Sandbox {
    let dir = std::env::temp_dir().join(format!("kith-sandbox-{}", random_suffix()));
    std::fs::create_dir_all(&dir).expect("dir");
    let url = format!("sqlite://{}/kith.db", dir.display());
    let store = Store::connect(&url, 2, Duration::from_secs(5), Arc::new(SystemClock)).await.expect("db");
    let env = Arc::new(CallEnv {
        plugin_id: "handmade".into(),
        hook: "start",
        config: Default::default(),
        store,
        kv_quota_bytes: 0,
        default_region: "US".into(),
        org_scope: None,
        log_lines: Default::default(),
    });
    Sandbox { runtime: host::runtime().expect("runtime"), env, dir }
}

impl Sandbox {
    /// Compiles `wasm` and instantiates it in a freshly armed store (its core modules' start
    /// functions run then). Returns the fuel left, or why it did not run: the fault (`None`
    /// when the component was refused before running) and the error's text.
    async fn run(&self, wasm: &[u8], fuel: u64) -> Result<u64, (Option<Fault>, String)> {
        let component = host::compile(&self.runtime.engine, wasm).map_err(|e| (None, e))?;
        let budget = Budget { time: Duration::from_secs(10), fuel, memory_bytes: 32 << 20 };
        let outbound = Outbound::new(Arc::new(Vec::new()), Arc::new(AtomicU64::new(0)));
        let mut armed = host::arm(&self.runtime.engine, self.env.clone(), outbound, budget).expect("arm");
        match self.runtime.linker.instantiate_async(&mut armed.store, &component).await {
            Ok(_) => Ok(armed.store.get_fuel().expect("fuel is on")),
            Err(e) => Err((Some(armed.classify(&e)), format!("{e:#}"))),
        }
    }
}

/// A component holding one core module, instantiated `instances` times.
fn component(module: &Module, instances: u32) -> Vec<u8> {
    let mut c = Component::new();
    c.section(&ModuleSection(module));
    let mut section = InstanceSection::new();
    for _ in 0..instances {
        section.instantiate(0, Vec::<(&str, ModuleArg)>::new());
    }
    c.section(&section);
    c.finish()
}

/// A core module with a funcref table of `table` elements (none for 0) and, when given, a start function.
fn module(table: u64, start: Option<Function>) -> Module {
    let mut m = Module::new();
    let mut types = TypeSection::new();
    types.ty().function([], []);
    m.section(&types);
    if start.is_some() {
        let mut funcs = FunctionSection::new();
        funcs.function(0);
        m.section(&funcs);
    }
    if table > 0 {
        let mut tables = TableSection::new();
        let ty =
            TableType { element_type: RefType::FUNCREF, table64: false, minimum: table, maximum: None, shared: false };
        tables.table(ty);
        m.section(&tables);
    }
    if let Some(f) = start {
        let mut exports = ExportSection::new();
        exports.export("start", ExportKind::Func, 0);
        m.section(&exports);
        m.section(&StartSection { function_index: 0 });
        let mut code = CodeSection::new();
        code.function(&f);
        m.section(&code);
    }
    m
}

/// A start function that grows table 0 by `by` elements and traps if that was refused.
fn grow_table(by: i32) -> Function {
    let mut f = Function::new([]);
    f.instructions()
        .ref_null(HeapType::FUNC)
        .i32_const(by)
        .table_grow(0)
        .i32_const(-1)
        .i32_eq()
        .if_(BlockType::Empty)
        .unreachable()
        .end()
        .end();
    f
}

/// A start function that counts down from `n` in a loop.
fn spin(n: i32) -> Function {
    let mut f = Function::new([(1, ValType::I32)]);
    f.instructions()
        .i32_const(n)
        .local_set(0)
        .loop_(BlockType::Empty)
        .local_get(0)
        .i32_const(1)
        .i32_sub()
        .local_tee(0)
        .br_if(0)
        .end()
        .end();
    f
}

/// P4: a table or a component bigger than the caps is refused before it runs; growing a table
/// past the cap is refused at the `table.grow`; the same shapes under the caps run.
#[tokio::test]
async fn tables_and_instances_past_their_caps_are_refused() {
    let s = sandbox().await;
    let fuel = 1_000_000;
    // declared too big: the pooling allocator refuses it when it is compiled
    assert!(s.run(&component(&module(1_000, None), 1), fuel).await.is_ok());
    let (fault, message) = s.run(&component(&module(1_000_000, None), 1), fuel).await.expect_err("huge table");
    assert_eq!(fault, None);
    assert!(message.contains("minimum element size of 1000000 which exceeds the limit of 10000"), "{message}");
    // grown too big: the limiter refuses the growth, the module then traps
    assert!(s.run(&component(&module(1, Some(grow_table(1_000))), 1), fuel).await.is_ok());
    let (fault, message) = s.run(&component(&module(1, Some(grow_table(100_000))), 1), fuel).await.expect_err("grown");
    assert!(matches!(fault, Some(Fault::Trap(_))), "{fault:?}");
    assert!(message.contains("table limit of 10000 elements"), "{message}");
    // too many core instances in one component
    assert!(s.run(&component(&module(0, None), 8), fuel).await.is_ok());
    let (fault, message) = s.run(&component(&module(0, None), 200), fuel).await.expect_err("instances");
    // the store's limiter (32 core instances) stops the 33rd
    assert!(matches!(fault, Some(Fault::Trap(_))), "{fault:?}");
    assert!(message.contains("instance count too high at 33"), "{message}");
}

/// P2: fuel is counted per instruction, so a CPU-bound plugin uses exactly the same fuel on
/// every run, and with less than it needs it is stopped (`cpu_limit`) on every run.
#[tokio::test]
async fn fuel_is_counted_the_same_on_every_run() {
    let s = sandbox().await;
    let wasm = component(&module(1, Some(spin(100_000))), 1);
    let plenty = 10_000_000;
    let mut used = Vec::new();
    for _ in 0..5 {
        used.push(plenty - s.run(&wasm, plenty).await.expect("runs with plenty of fuel"));
    }
    assert!(used.iter().all(|u| *u == used[0]), "{used:?}");
    assert!(used[0] > 100_000, "every loop turn costs fuel: {used:?}");
    for _ in 0..5 {
        assert_eq!(s.run(&wasm, used[0]).await, Ok(0));
        let (fault, message) = s.run(&wasm, used[0] * 9 / 10).await.expect_err("short of fuel");
        assert_eq!(fault, Some(Fault::CpuLimit), "{message}");
    }
}

/// P10: random mutations and truncations of a real plugin, and plain garbage, are refused with
/// an error or compile — never a panic — each in bounded time; a file over
/// `plugins.max_wasm_bytes` is refused before it is read.
#[tokio::test]
async fn malformed_and_oversized_components_are_refused() {
    let s = sandbox().await;
    let plugins = PluginDir::new(&s.dir);
    let folder = plugins.install("plugins/iban", "iban", |t| t);
    let wasm_path = folder.join("kith_iban.wasm");
    let original = std::fs::read(&wasm_path).expect("iban wasm");

    let mut rng = kith_tests::Rng::new(0x6b69_7468);
    let mut cases: Vec<Vec<u8>> = vec![Vec::new(), b"\0asm".to_vec(), b"\0asm\x0d\0\x01\0".to_vec()];
    for i in 0..16 {
        cases.push(original[..original.len() * i / 16].to_vec());
    }
    for _ in 0..200 {
        let mut m = original.clone();
        for _ in 0..1 + rng.below(4) {
            let at = rng.below(m.len());
            match rng.below(3) {
                0 => m[at] ^= 1 << rng.below(8),
                1 => m[at] = rng.below(256) as u8,
                _ => m.insert(at, rng.below(256) as u8),
            }
        }
        cases.push(m);
    }
    let (mut refused, mut accepted, mut slowest) = (0, 0, Duration::ZERO);
    for case in cases {
        let engine = s.runtime.engine.clone();
        let started = Instant::now();
        // a panic inside would surface here as a JoinError
        let result = tokio::task::spawn_blocking(move || host::compile(&engine, &case)).await.expect("no panic");
        slowest = slowest.max(started.elapsed());
        match result {
            Ok(_) => accepted += 1,
            Err(e) => {
                assert!(e.starts_with("not a valid WebAssembly component"), "{e}");
                refused += 1;
            }
        }
    }
    println!("{refused} refused, {accepted} compiled; slowest {slowest:?}");
    assert!(refused >= 19, "every empty or truncated file is refused: {refused}");
    assert!(slowest < Duration::from_secs(20), "{slowest:?}");

    // the size cap, checked on the file's length before reading it
    let mut config = Config::default();
    config.plugins.max_wasm_bytes = original.len() as u64 - 1;
    let Err(err) = kith::plugins::load_folder(&s.runtime, &config.plugins, None, &folder) else {
        panic!("a file over the cap was loaded");
    };
    assert!(
        err.contains(&format!("is {} bytes; at most {} are accepted", original.len(), original.len() - 1)),
        "{err}"
    );
    config.plugins.max_wasm_bytes = original.len() as u64;
    assert!(kith::plugins::load_folder(&s.runtime, &config.plugins, None, &folder).is_ok());
}
