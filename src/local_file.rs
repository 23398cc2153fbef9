//! Files the config names (trusted CA bundles): read bounded, and only if they are regular files.

use std::io::Read;

/// CA bundles are a few kilobytes; a path naming a device, a FIFO or a huge file is refused
/// before it can block or fill memory.
pub const MAX_CA_FILE_BYTES: u64 = 1 << 20;

/// Reads a PEM CA file. Blocking: async callers run it on a blocking thread.
pub fn read_ca_file(path: &str) -> Result<Vec<u8>, String> {
    let file = std::fs::File::open(path).map_err(|e| e.to_string())?;
    let metadata = file.metadata().map_err(|e| e.to_string())?;
    if !metadata.is_file() {
        return Err("is not a regular file".into());
    }
    let too_large = || format!("is larger than {MAX_CA_FILE_BYTES} bytes");
    if metadata.len() > MAX_CA_FILE_BYTES {
        return Err(too_large());
    }
    let mut pem = Vec::new();
    file.take(MAX_CA_FILE_BYTES + 1).read_to_end(&mut pem).map_err(|e| e.to_string())?;
    if pem.len() as u64 > MAX_CA_FILE_BYTES {
        return Err(too_large());
    }
    Ok(pem)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ca_files_must_be_small_regular_files() {
        assert_eq!(read_ca_file("/dev/zero").unwrap_err(), "is not a regular file");
        let dir = tempfile::tempdir().unwrap();
        let big = dir.path().join("big.pem");
        std::fs::write(&big, vec![b'A'; (MAX_CA_FILE_BYTES + 1) as usize]).unwrap();
        assert!(read_ca_file(big.to_str().unwrap()).unwrap_err().contains("larger"));
        let small = dir.path().join("ca.pem");
        std::fs::write(&small, "-----BEGIN CERTIFICATE-----").unwrap();
        assert_eq!(read_ca_file(small.to_str().unwrap()).unwrap().len(), 27);
        assert!(read_ca_file("/nonexistent/ca.pem").is_err());
    }
}
