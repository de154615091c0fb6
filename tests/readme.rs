//! The configuration and tool-policy references in the README are valid.

/// The first TOML block after `heading` in the README.
fn toml_block_after(heading: &str) -> &'static str {
    let readme = include_str!("../README.md");
    let section = readme
        .split(heading)
        .nth(1)
        .unwrap_or_else(|| panic!("README has a {heading:?} section"));
    section
        .split("```toml\n")
        .nth(1)
        .and_then(|s| s.split("```").next())
        .expect("a toml block")
}

#[test]
fn readme_configuration_reference_builds_a_pipeline() {
    let toml = toml_block_after("## Configuration reference");
    palisade::Pipeline::from_toml(toml).unwrap_or_else(|e| panic!("README config: {e}"));
}

#[test]
fn readme_tool_policy_reference_loads() {
    let toml = toml_block_after("## Tool policy");
    let policy = palisade::tools::ToolPolicy::from_toml(toml, "README.md")
        .unwrap_or_else(|e| panic!("README policy: {e}"));
    assert_eq!(
        policy.tool_names(),
        ["fetch_url", "read_file", "refund", "send_email"]
    );
}

#[test]
fn readme_audit_monitor_and_kill_switch_block_builds_a_pipeline() {
    let toml = toml_block_after("## Audit log, monitoring and kill switch");
    let dir = std::env::temp_dir().join(format!("palisade-readme-audit-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(
        dir.join("audit.key"),
        palisade::audit::AuditKey::generate_hex().unwrap(),
    )
    .unwrap();
    let mut config = palisade::Config::from_toml(toml, "README.md")
        .unwrap_or_else(|e| panic!("README audit block: {e}"));
    config.base_dir = Some(dir.clone());
    let guard = palisade::Pipeline::from_config(&config)
        .unwrap_or_else(|e| panic!("README audit block: {e}"));
    drop(guard);
    assert!(dir.join("audit.jsonl").exists());
    let _ = std::fs::remove_dir_all(&dir);
}
