//! Names the git commit the build was made from (`RCT_GIT_COMMIT`, read by
//! `rct_web::SOFTWARE`), or `unknown` outside a git checkout or without
//! git: the build never fails for want of it.

use std::path::Path;
use std::process::Command;

fn git(args: &[&str]) -> Option<String> {
    let out = Command::new("git").args(args).output().ok()?;
    if !out.status.success() {
        return None;
    }
    let text = String::from_utf8(out.stdout).ok()?.trim().to_string();
    (!text.is_empty()).then_some(text)
}

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    let commit = git(&["rev-parse", "--short=12", "HEAD"])
        .filter(|c| c.bytes().all(|b| b.is_ascii_hexdigit()))
        .unwrap_or_else(|| "unknown".to_string());
    // Build again when HEAD moves (a commit, a checkout): HEAD itself and
    // the branch it names, in the worktree's and the common git directory.
    for dir in [
        git(&["rev-parse", "--git-dir"]),
        git(&["rev-parse", "--git-common-dir"]),
    ]
    .into_iter()
    .flatten()
    {
        let dir = Path::new(&dir);
        for file in ["HEAD", "packed-refs"] {
            if dir.join(file).exists() {
                println!("cargo:rerun-if-changed={}", dir.join(file).display());
            }
        }
        if let Some(branch) = git(&["symbolic-ref", "-q", "HEAD"]) {
            if dir.join(&branch).exists() {
                println!("cargo:rerun-if-changed={}", dir.join(&branch).display());
            }
        }
    }
    println!("cargo:rustc-env=RCT_GIT_COMMIT={commit}");
}
