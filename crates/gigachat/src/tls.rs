//! Client-certificate (mTLS) identity loading, including password-protected PKCS#8 keys.

use std::path::Path;

use pkcs8::der::pem::LineEnding;
use pkcs8::{EncryptedPrivateKeyInfo, SecretDocument};

use crate::{Error, Secret};

/// Reads a PEM certificate (chain) and a PEM private key into a reqwest identity.
/// An encrypted key (`ENCRYPTED PRIVATE KEY`) is decrypted with `password`.
pub(crate) fn identity(
    cert: &Path,
    key: &Path,
    password: Option<&Secret>,
) -> Result<reqwest::Identity, Error> {
    let cert_pem = std::fs::read(cert)
        .map_err(|e| Error::Config(format!("cannot read cert_file {}: {e}", cert.display())))?;
    let key_pem = std::fs::read_to_string(key)
        .map_err(|e| Error::Config(format!("cannot read key_file {}: {e}", key.display())))?;
    let key_pem = if key_pem.contains("ENCRYPTED PRIVATE KEY") {
        let password = password.ok_or_else(|| {
            Error::Config(format!(
                "key_file {} is encrypted; set key_file_password",
                key.display()
            ))
        })?;
        decrypt_pkcs8(&key_pem, password)
            .map_err(|e| Error::Config(format!("cannot decrypt key_file {}: {e}", key.display())))?
    } else {
        key_pem
    };
    let mut bundle = cert_pem;
    bundle.push(b'\n');
    bundle.extend_from_slice(key_pem.as_bytes());
    reqwest::Identity::from_pem(&bundle).map_err(|e| {
        Error::Config(format!(
            "invalid client certificate/key ({}, {}): {e}",
            cert.display(),
            key.display()
        ))
    })
}

fn decrypt_pkcs8(pem: &str, password: &Secret) -> Result<String, String> {
    let (label, doc) = SecretDocument::from_pem(pem).map_err(|e| e.to_string())?;
    if label != "ENCRYPTED PRIVATE KEY" {
        return Err(format!("unexpected PEM label {label}"));
    }
    let info = EncryptedPrivateKeyInfo::try_from(doc.as_bytes()).map_err(|e| e.to_string())?;
    let plain = info
        .decrypt(password.expose())
        .map_err(|_| "wrong password or unsupported encryption".to_string())?;
    plain
        .to_pem("PRIVATE KEY", LineEnding::LF)
        .map(|p| p.to_string())
        .map_err(|e| e.to_string())
}
