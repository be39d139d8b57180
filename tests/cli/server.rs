//! The operator's side of the CLI tests: the first owner made with `steward create-owner`, the
//! real binary serving that database (`helpers::process`), and the database opened through the
//! library as a second process would.

use crate::commands::steward;
use crate::helpers::process::ServerProcess;

/// `steward serve` on `dir/cli.db`, the database of `commands::steward`.
pub fn serve(dir: &std::path::Path) -> ServerProcess {
    ServerProcess::start(dir, &format!("sqlite://{}", dir.join("cli.db").display()), &[])
}

/// The password of the owners the tests create.
pub const PASSWORD: &str = "a-long-enough-password";

/// `steward create-owner` in `dir`: the id of the new organization.
pub fn create_owner(dir: &std::path::Path, email: &str, org: &str) -> String {
    let out = steward(dir).args(["create-owner", "--email", email, "--org", org]).env("STEWARD_OWNER_PASSWORD", PASSWORD).output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    // "created account … owning organization ORG"
    stdout.lines().next().and_then(|l| l.split_whitespace().last()).expect("the organization's id").to_string()
}

/// The database of `dir`, opened through the library as a second process would.
pub fn db_of(path: &std::path::Path) -> steward::storage::Db {
    let url = format!("sqlite://{}", path.display());
    steward::storage::Db::new(steward::storage::connect(&url, 2).unwrap())
}
