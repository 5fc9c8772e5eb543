//! The layering rules `docs/ARCHITECTURE.md` states, checked on the source itself: data flows
//! from the fronts (the JSON API, the pages, the CLI, the job worker) into the services, and
//! never back; `config` imports no module that imports it.

#[cfg(test)]
mod tests {
    use std::path::{Path, PathBuf};

    fn sources(under: &Path) -> Vec<PathBuf> {
        let mut out = Vec::new();
        if under.is_file() {
            out.push(under.to_path_buf());
        }
        for e in std::fs::read_dir(under).into_iter().flatten().flatten() {
            let p = e.path();
            if p.is_dir() {
                out.extend(sources(&p));
            } else if p.extension().is_some_and(|x| x == "rs") {
                out.push(p);
            }
        }
        out
    }

    fn src() -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
    }

    /// Code lines of a file (comments left out, so a doc link is not an import).
    fn code(path: &Path) -> String {
        std::fs::read_to_string(path)
            .unwrap_or_default()
            .lines()
            .filter(|l| !l.trim_start().starts_with("//"))
            .collect::<Vec<_>>()
            .join("\n")
    }

    #[test]
    fn the_inner_layers_never_import_the_fronts() {
        let mut checked = 0;
        for inner in
            ["services", "store", "domain", "plugins", "jobs.rs", "app.rs", "login.rs", "mail.rs", "avatars.rs"]
        {
            for file in sources(&src().join(inner)) {
                let text = code(&file);
                for front in ["crate::http", "crate::web", "crate::cli", "axum::"] {
                    assert!(!text.contains(front), "{} uses {front}", file.display());
                }
                checked += 1;
            }
        }
        assert!(checked > 40, "{checked} files");
    }

    #[test]
    fn config_imports_no_module_that_imports_it() {
        let config = code(&src().join("config.rs"));
        let mut modules: Vec<String> = config
            .split("crate::")
            .skip(1)
            .filter_map(|rest| rest.split(|c: char| !c.is_alphanumeric() && c != '_' && c != ':').next())
            .map(|path| path.trim_end_matches(':').to_string())
            .collect();
        modules.sort();
        modules.dedup();
        assert!(modules.len() >= 4, "{modules:?}");
        for module in modules {
            // the longest prefix that is a module file: `plugins::limits::X` is plugins/limits.rs,
            // `auth::redact_url` is auth.rs
            let parts: Vec<&str> = module.split("::").filter(|p| !p.is_empty()).collect();
            let file = (1..=parts.len())
                .rev()
                .map(|n| parts[..n].iter().fold(src(), |p, part| p.join(part)))
                .flat_map(|p| [p.with_extension("rs"), p.join("mod.rs")])
                .find(|f| f.is_file())
                .unwrap_or_else(|| panic!("no module file for {module}"));
            let text = code(&file);
            assert!(
                !text.contains("crate::config"),
                "config imports {module}, which imports config ({})",
                file.display()
            );
        }
    }
}
