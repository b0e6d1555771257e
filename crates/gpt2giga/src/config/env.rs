//! Environment sources: the process environment (given as a map) and the
//! `.env` file, both looked up case-insensitively.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use super::ConfigError;

/// A set of variables with case-insensitive lookup.
#[derive(Debug, Default)]
pub(crate) struct EnvLayer {
    /// lower-case name → (name as written, value)
    vars: HashMap<String, (String, String)>,
    /// The `.env` file the variables came from (`None` = process environment).
    file: Option<PathBuf>,
}

impl EnvLayer {
    /// Index a map of variables. When several names differ only in case, the
    /// all-upper-case spelling wins, then the lexicographically smallest, so
    /// the choice is deterministic.
    pub(crate) fn from_vars<'a>(vars: impl IntoIterator<Item = (&'a String, &'a String)>) -> Self {
        let mut layer = EnvLayer::default();
        for (name, value) in vars {
            layer.insert(name.clone(), value.clone());
        }
        layer
    }

    fn insert(&mut self, name: String, value: String) {
        let key = name.to_ascii_lowercase();
        let replace = match self.vars.get(&key) {
            None => true,
            Some((old, _)) => rank(&name) < rank(old),
        };
        if replace {
            self.vars.insert(key, (name, value));
        }
    }

    /// Read a `.env` file with `dotenvy`, without touching the process
    /// environment. Later lines override earlier ones, as in python-dotenv.
    pub(crate) fn read_dotenv(path: &Path) -> Result<Self, ConfigError> {
        let iter = dotenvy::from_path_iter(path).map_err(|e| ConfigError::EnvFile {
            path: path.to_path_buf(),
            message: e.to_string(),
        })?;
        let mut layer = EnvLayer {
            file: Some(path.to_path_buf()),
            ..EnvLayer::default()
        };
        let mut ordered: Vec<(String, String)> = Vec::new();
        for item in iter {
            let (name, value) = item.map_err(|e| ConfigError::EnvFile {
                path: path.to_path_buf(),
                message: e.to_string(),
            })?;
            ordered.push((name, value));
        }
        // Same name twice in one file: the later line wins.
        for (name, value) in ordered {
            let key = name.to_ascii_lowercase();
            layer.vars.insert(key, (name, value));
        }
        Ok(layer)
    }

    /// Look a variable up by name, ignoring case. Returns the name as written
    /// and the value.
    pub fn get(&self, name: &str) -> Option<(&str, &str)> {
        self.vars
            .get(&name.to_ascii_lowercase())
            .map(|(n, v)| (n.as_str(), v.as_str()))
    }

    pub fn file(&self) -> Option<&Path> {
        self.file.as_deref()
    }

    /// Names (as written) that start with `prefix`, ignoring case.
    pub(crate) fn names_with_prefix<'a>(
        &'a self,
        prefix: &'a str,
    ) -> impl Iterator<Item = &'a str> + 'a {
        let prefix = prefix.to_ascii_lowercase();
        self.vars
            .iter()
            .filter(move |(key, _)| key.starts_with(&prefix))
            .map(|(_, (name, _))| name.as_str())
    }
}

fn rank(name: &str) -> (bool, &str) {
    (name != name.to_ascii_uppercase(), name)
}

/// Which `.env` file to read: the `--env-path` value (relative to `cwd`; it
/// must exist) or `<cwd>/.env` when present.
pub(crate) fn dotenv_path(
    explicit: Option<&str>,
    cwd: &Path,
) -> Result<Option<PathBuf>, ConfigError> {
    match explicit {
        Some(given) => {
            let path = cwd.join(given);
            if path.is_file() {
                Ok(Some(path))
            } else {
                Err(ConfigError::EnvFileNotFound { path })
            }
        }
        None => {
            let path = cwd.join(".env");
            Ok(path.is_file().then_some(path))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lookup_is_case_insensitive_and_deterministic() {
        let mut m = HashMap::new();
        m.insert("gpt2giga_port".to_string(), "1".to_string());
        m.insert("GPT2GIGA_PORT".to_string(), "2".to_string());
        m.insert("Gpt2Giga_Host".to_string(), "h".to_string());
        let layer = EnvLayer::from_vars(&m);
        assert_eq!(layer.get("GPT2GIGA_PORT"), Some(("GPT2GIGA_PORT", "2")));
        assert_eq!(layer.get("gpt2giga_host"), Some(("Gpt2Giga_Host", "h")));
        assert_eq!(layer.get("GPT2GIGA_MODE"), None);
        let mut names: Vec<_> = layer.names_with_prefix("GPT2GIGA_").collect();
        names.sort();
        assert_eq!(names, ["GPT2GIGA_PORT", "Gpt2Giga_Host"]);
    }

    #[test]
    fn dotenv_is_read_without_touching_the_process() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(".env");
        std::fs::write(
            &path,
            "# comment\nGPT2GIGA_PORT=1\nexport GPT2GIGA_HOST=\"h h\"\nGPT2GIGA_PORT=2\n",
        )
        .unwrap();
        let layer = EnvLayer::read_dotenv(&path).unwrap();
        assert_eq!(layer.get("gpt2giga_port"), Some(("GPT2GIGA_PORT", "2")));
        assert_eq!(layer.get("GPT2GIGA_HOST"), Some(("GPT2GIGA_HOST", "h h")));
        assert_eq!(layer.file(), Some(path.as_path()));
        assert!(std::env::var("GPT2GIGA_HOST").map_or(true, |v| v != "h h"));
    }

    #[test]
    fn dotenv_path_rules() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(dotenv_path(None, dir.path()).unwrap(), None);
        assert!(matches!(
            dotenv_path(Some("missing.env"), dir.path()),
            Err(ConfigError::EnvFileNotFound { .. })
        ));
        std::fs::write(dir.path().join(".env"), "A=1\n").unwrap();
        std::fs::write(dir.path().join("x.env"), "A=1\n").unwrap();
        assert_eq!(
            dotenv_path(None, dir.path()).unwrap(),
            Some(dir.path().join(".env"))
        );
        assert_eq!(
            dotenv_path(Some("x.env"), dir.path()).unwrap(),
            Some(dir.path().join("x.env"))
        );
        let abs = dir.path().join("x.env");
        assert_eq!(
            dotenv_path(abs.to_str(), Path::new("/nonexistent")).unwrap(),
            Some(abs.clone())
        );
    }
}
