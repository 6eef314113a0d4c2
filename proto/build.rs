//! Generates the prost types from `proto/angzarr/store.proto` with a vendored `protoc`, so a
//! fresh machine needs no protobuf compiler installed.
fn main() -> Result<(), Box<dyn std::error::Error>> {
    let protoc = protoc_bin_vendored::protoc_bin_path()?;
    std::env::set_var("PROTOC", protoc);
    println!("cargo:rerun-if-changed=proto/angzarr/store.proto");
    prost_build::Config::new().compile_protos(&["proto/angzarr/store.proto"], &["proto"])?;
    Ok(())
}
