//! Real plugins for the tests: the first-party plugins in `plugins/` and the hostile test
//! plugin in `tests/plugins/hostile`, built for `wasm32-wasip2` once per test process and laid
//! out in a plugin folder a test's Kith loads.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

/// The workspace root.
pub fn workspace() -> PathBuf {
    PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/.."))
}

/// The plugin crates the tests use: (source folder, package).
pub const PLUGIN_CRATES: [(&str, &str); 5] = [
    ("plugins/gravatar", "kith-gravatar"),
    ("plugins/forms", "kith-forms"),
    ("plugins/http-auth", "kith-http-auth"),
    ("plugins/iban", "kith-iban"),
    ("tests/plugins/hostile", "kith-hostile-plugin"),
];

fn wasm_dir() -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR").map(PathBuf::from).unwrap_or_else(|| workspace().join("target"));
    let target = if target.is_absolute() { target } else { workspace().join(target) };
    target.join("wasm32-wasip2").join("plugin")
}

/// Builds every test plugin (a no-op when up to date) and answers where the `.wasm` files are.
pub fn built() -> PathBuf {
    static BUILT: OnceLock<PathBuf> = OnceLock::new();
    BUILT
        .get_or_init(|| {
            let mut cmd = std::process::Command::new(env!("CARGO"));
            // the same profile as scripts/build-plugins and scripts/test-all
            cmd.args(["build", "--quiet", "--profile", "plugin", "--target", "wasm32-wasip2"]).current_dir(workspace());
            for (_, package) in PLUGIN_CRATES {
                cmd.args(["-p", package]);
            }
            let status = cmd.status().expect("run cargo build for the plugins");
            assert!(
                status.success(),
                "building the plugins for wasm32-wasip2 failed (rustup target add wasm32-wasip2?)"
            );
            wasm_dir()
        })
        .clone()
}

/// A plugin folder tree (`plugins.dirs` entry) for one test.
pub struct PluginDir {
    pub root: PathBuf,
}

impl PluginDir {
    pub fn new(parent: &Path) -> PluginDir {
        let root = parent.join("plugins");
        std::fs::create_dir_all(&root).expect("plugin dir");
        PluginDir { root }
    }

    /// Installs the plugin from `source` (e.g. `plugins/iban`) as `id`, its manifest passed
    /// through `edit` (after the id is set). Answers the folder.
    pub fn install(&self, source: &str, id: &str, edit: impl FnOnce(String) -> String) -> PathBuf {
        let text = std::fs::read_to_string(workspace().join(source).join("plugin.toml")).expect("plugin.toml");
        let wasm_name = text
            .lines()
            .find_map(|l| {
                l.trim()
                    .strip_prefix("wasm")
                    .map(|r| r.trim().trim_start_matches('=').trim().trim_matches('"').to_string())
            })
            .expect("wasm = in plugin.toml");
        let original_id = text
            .lines()
            .find_map(|l| l.trim().strip_prefix("id =").map(|r| r.trim().trim_matches('"').to_string()))
            .expect("id = in plugin.toml");
        let text = text.replacen(&format!("id = \"{original_id}\""), &format!("id = \"{id}\""), 1);
        let folder = self.root.join(id);
        std::fs::create_dir_all(&folder).expect("plugin folder");
        std::fs::write(folder.join("plugin.toml"), edit(text)).expect("write plugin.toml");
        std::fs::copy(built().join(&wasm_name), folder.join(&wasm_name)).expect("copy the .wasm");
        folder
    }
}

/// A compile cache shared by the tests of one machine (compiling is the slow part).
pub fn shared_cache() -> PathBuf {
    std::env::temp_dir().join("kith-test-plugin-cache")
}

/// Resident memory of this process, bytes.
pub fn rss_bytes() -> u64 {
    let statm = std::fs::read_to_string("/proc/self/statm").unwrap_or_default();
    let pages: u64 = statm.split_whitespace().nth(1).and_then(|p| p.parse().ok()).unwrap_or(0);
    pages * 4096
}
