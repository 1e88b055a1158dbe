//! Secrets of the embedded mode: generated on first start and kept in the data directory, so
//! a laptop needs no configuration and tokens survive a restart.

use std::fs;
use std::io::Write;
use std::path::Path;

use anyhow::Context;
use peken_kernel::auth::random_token;
use peken_kernel::settings::Secret;

/// Reads `name` from the data directory's `secrets/` folder, creating it when missing.
pub fn load_or_create(data_dir: &Path, name: &str) -> anyhow::Result<Secret> {
    let dir = data_dir.join("secrets");
    fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    let path = dir.join(name);
    if let Ok(existing) = fs::read_to_string(&path) {
        let existing = existing.trim();
        if existing.len() >= 32 {
            return Ok(Secret::new(existing));
        }
    }
    let value = format!("{}{}", random_token(), random_token());
    let mut options = fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options
        .open(&path)
        .with_context(|| format!("writing {}", path.display()))?;
    file.write_all(value.as_bytes())?;
    Ok(Secret::new(value))
}
