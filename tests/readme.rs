//! The configuration reference in the README is a valid configuration.

#[test]
fn readme_configuration_reference_builds_a_pipeline() {
    let readme = include_str!("../README.md");
    let section = readme
        .split("## Configuration reference")
        .nth(1)
        .expect("README has a configuration reference");
    let toml = section
        .split("```toml\n")
        .nth(1)
        .and_then(|s| s.split("```").next())
        .expect("a toml block");
    palisade::Pipeline::from_toml(toml).unwrap_or_else(|e| panic!("README config: {e}"));
}

#[test]
fn readme_tool_policy_reference_loads() {
    let readme = include_str!("../README.md");
    let section = readme
        .split("## Tool policy")
        .nth(1)
        .expect("README has a tool policy section");
    let toml = section
        .split("```toml\n")
        .nth(1)
        .and_then(|s| s.split("```").next())
        .expect("a toml block");
    let policy = palisade::tools::ToolPolicy::from_toml(toml, "README.md")
        .unwrap_or_else(|e| panic!("README policy: {e}"));
    assert_eq!(
        policy.tool_names(),
        ["fetch_url", "read_file", "refund", "send_email"]
    );
}
