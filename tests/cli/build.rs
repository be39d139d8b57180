//! What building Steward needs: no system libraries. libpq and OpenSSL are built from source
//! and linked into the binary, and the libpq inside speaks TLS to PostgreSQL.

use std::ffi::CStr;
use std::process::Command;

#[test]
fn the_binary_links_no_system_libpq_or_openssl() {
    let out = Command::new("ldd").arg(env!("CARGO_BIN_EXE_steward")).output().expect("ldd runs");
    let listed = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "ldd failed: {}", String::from_utf8_lossy(&out.stderr));
    assert!(listed.contains("libc.so"), "ldd lists the binary's libraries:\n{listed}");
    for library in ["libpq", "libssl", "libcrypto"] {
        assert!(!listed.contains(library), "the binary needs the system's {library}:\n{listed}");
    }
}

#[test]
fn the_bundled_libpq_speaks_tls() {
    // Asked without a connection, libpq names the TLS library it was built with (none: NULL).
    // SAFETY: a NULL connection is documented as allowed; the attribute name is a C string.
    let library = unsafe { pq_sys::PQsslAttribute(std::ptr::null_mut(), c"library".as_ptr()) };
    assert!(!library.is_null(), "libpq was built without TLS: it could not reach a PostgreSQL that requires it");
    // SAFETY: libpq returns a static, NUL-terminated string.
    let name = unsafe { CStr::from_ptr(library) }.to_string_lossy().into_owned();
    assert_eq!(name, "OpenSSL");
}
