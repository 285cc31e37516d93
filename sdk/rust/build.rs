//! Generates the client from the repository's openapi.yaml on every build that sees it
//! change. Nothing generated is committed: the spec is the only wire truth.

use std::{env, fs, path::PathBuf};

fn main() {
    let spec_path = spec_path();
    println!("cargo:rerun-if-changed={}", spec_path.display());
    println!("cargo:rerun-if-env-changed=OCTOSTORE_SPEC");

    let text = fs::read_to_string(&spec_path)
        .unwrap_or_else(|e| panic!("read {}: {e}", spec_path.display()));
    let mut spec: openapiv3::OpenAPI = serde_yaml_ng::from_str(&text)
        .unwrap_or_else(|e| panic!("parse {}: {e}", spec_path.display()));
    api_operations_only(&mut spec);

    let mut settings = progenitor::GenerationSettings::default();
    settings.with_interface(progenitor::InterfaceStyle::Positional);
    // The server is the one authority on the documented constraints: it answers a bad
    // name, TTL, owner or metadata with the spec's problem codes (invalid_lock_name,
    // invalid_ttl, invalid_request), exactly as every other SDK reports them. Plain types
    // here let those values reach it instead of failing locally with a different error.
    let plain = || [progenitor::TypeImpl::Display].into_iter();
    settings.with_replacement("LockName", "::std::string::String", plain());
    settings.with_replacement("Owner", "::std::string::String", plain());
    settings.with_replacement("Metadata", "::std::string::String", plain());
    settings.with_replacement("TtlSeconds", "u32", plain());
    settings.with_replacement("WaitSeconds", "u32", plain());
    let mut generator = progenitor::Generator::new(&settings);
    let tokens = generator
        .generate_tokens(&spec)
        .unwrap_or_else(|e| panic!("generate client from {}: {e}", spec_path.display()));
    let file: syn::File = syn::parse2(tokens).expect("generated code parses");
    let out = PathBuf::from(env::var("OUT_DIR").expect("OUT_DIR")).join("client.rs");
    fs::write(&out, prettyplease::unparse(&file)).expect("write generated client");
}

/// Drops the operations marked `x-browser-only` (GitHub sign-in and the dashboard: pages
/// and calls authenticated by a browser session cookie, not part of an API client), the
/// `default` responses, and paths left with no operation.
fn api_operations_only(spec: &mut openapiv3::OpenAPI) {
    let browser_only = |op: &Option<openapiv3::Operation>| {
        op.as_ref()
            .and_then(|op| op.extensions.get("x-browser-only"))
            .and_then(|v| v.as_bool())
            == Some(true)
    };
    spec.paths.paths.retain(|_, item| {
        let openapiv3::ReferenceOr::Item(item) = item else {
            return true;
        };
        for op in [
            &mut item.get,
            &mut item.put,
            &mut item.post,
            &mut item.delete,
            &mut item.patch,
        ] {
            if browser_only(op) {
                *op = None;
            } else if let Some(op) = op {
                // progenitor counts a `default` response as a success type: next to the
                // 200's it makes two, which it cannot generate. Errors are typed from
                // their status and problem body anyway (src/error.rs).
                op.responses.default = None;
            }
        }
        item.iter().next().is_some()
    });
}

/// The spec: `OCTOSTORE_SPEC` when set, else the repository's `openapi.yaml` two levels
/// up, else (in a published crate, which has no repository around it) the copy packaged
/// beside this file.
fn spec_path() -> PathBuf {
    if let Some(p) = env::var_os("OCTOSTORE_SPEC") {
        return PathBuf::from(p);
    }
    let dir = PathBuf::from(env::var("CARGO_MANIFEST_DIR").expect("CARGO_MANIFEST_DIR"));
    let repo = dir.join("../../openapi.yaml");
    if repo.exists() {
        return repo;
    }
    dir.join("openapi.yaml")
}
