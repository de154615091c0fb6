//! Secret detection through the pipeline: each test names the leak it covers.

use base64::Engine as _;
use palisade::{Action, Context, Guard, Pipeline};

fn guard(extra: &str) -> Pipeline {
    Pipeline::from_toml(&format!(
        "[checks]\ninput = [\"secret\"]\noutput = [\"secret\"]\ntool_result = [\"secret\"]\n{extra}"
    ))
    .expect("config")
}

fn secret_ids(g: &Pipeline, text: &str) -> Vec<String> {
    g.check_input(&Context::new(), text)
        .findings()
        .iter()
        .map(|f| f.detector.to_string())
        .collect()
}

/// Some secret finding in `text` covers exactly `secret`.
fn assert_secret_span(g: &Pipeline, text: &str, secret: &str) {
    let v = g.check_input(&Context::new(), text);
    let f = v
        .findings()
        .iter()
        .find(|f| f.detector.starts_with("secret."))
        .unwrap_or_else(|| panic!("no secret in {text:?}"));
    assert_eq!(&text[f.span.clone()], secret, "{text}");
}

#[test]
fn aws_key_pasted_in_a_prompt_is_redacted_keeping_its_prefix() {
    let g = guard("");
    let text = "here is my AWS key AKIAQ3EGRGOW5XKJ7T2H why does this fail";
    let v = g.check_input(&Context::new(), text);
    assert_eq!(v.action(), Action::Redact);
    assert_eq!(
        v.text(),
        "here is my AWS key AKIA**************** why does this fail"
    );
    assert_eq!(v.findings()[0].detector, "secret.aws_access_key_id");
    assert_eq!(&text[v.findings()[0].span.clone()], "AKIAQ3EGRGOW5XKJ7T2H");
}

#[test]
fn redaction_prefix_length_is_configurable() {
    let g = guard("[secrets]\nredact_keep = 8\n");
    let v = g.check_input(
        &Context::new(),
        "token ghp_Zq4Vd9sKx2LmN8pRt6YwB3cH7jFe1GaU0iOk",
    );
    assert_eq!(v.text(), format!("token ghp_Zq4V{}", "*".repeat(32)));
}

#[test]
fn github_token_hidden_in_base64_is_found_and_the_blob_masked() {
    let g = guard("");
    let inner = "export GH=ghp_Zq4Vd9sKx2LmN8pRt6YwB3cH7jFe1GaU0iOk";
    let blob = base64::engine::general_purpose::STANDARD.encode(inner);
    let text = format!("run this: {blob}");
    let v = g.check_input(&Context::new(), &text);
    let f = v
        .findings()
        .iter()
        .find(|f| f.detector == "secret.github_pat")
        .expect("found in the decoded layer");
    assert!(
        text[f.span.clone()]
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "+/=".contains(c))
    );
    assert!(
        !v.text().contains(&blob[10..30]),
        "the encoded secret is masked"
    );
}

#[test]
fn private_key_block_is_redacted_whole() {
    let g = guard("");
    let key = "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQAAAAAAAAABAAAAMwAAAAtzc2gtZW\nQyNTUxOQAAACDx3cK8H0pqJvJ9n2Yf6Y6bQ5tRk3Zx2m1oVd8Y7wN5aQAAAJgF2s1sBdrN\n-----END OPENSSH PRIVATE KEY-----";
    let text = format!("my key is\n{key}\nthanks");
    let v = g.check_input(&Context::new(), &text);
    assert!(
        v.findings()
            .iter()
            .any(|f| f.detector == "secret.private_key")
    );
    assert!(!v.text().contains("b3BlbnNzaC1rZXkt"));
}

#[test]
fn database_uri_password_is_the_secret_not_the_whole_uri() {
    let g = guard("");
    let text = "DATABASE_URL=postgres://app:Vx9!q2Lr7Tz@db.internal:5432/prod";
    let v = g.check_input(&Context::new(), text);
    let f = &v.findings()[0];
    assert_eq!(&text[f.span.clone()], "Vx9!q2Lr7Tz");
}

#[test]
fn weak_word_passwords_in_uris_are_credentials_but_variables_are_not() {
    // In `scheme://user:secret@host` the URI is the evidence: `secret` is a (weak) password
    // there, while `password = "secret"` alone reads as a placeholder.
    let g = guard("");
    assert_secret_span(&g, "postgresql://user:secret@localhost:5433/db", "secret");
    // Even the documentation idiom `user:password`: three labelled sources count it, and
    // redacting it costs nothing.
    assert_secret_span(
        &g,
        "amqp://user:password@rabbitmq.example.com/queue",
        "password",
    );
    for text in [
        "amqps://user:$password@localhost",
        "postgres://user:${DB_PASSWORD}@db:5432/app",
        "mysql://root:<password>@127.0.0.1/app",
        "redis://default:****@cache:6379",
    ] {
        assert!(secret_ids(&g, text).is_empty(), "{text}");
    }
}

#[test]
fn bearer_token_in_an_authorization_header_is_found() {
    let ids = secret_ids(
        &guard(""),
        "curl -H 'Authorization: Bearer 7fQ2xLp9Vb3KmT8wRz4N1cYd6HsJ0aUe' https://api.internal/v1",
    );
    assert!(!ids.is_empty(), "{ids:?}");
}

#[test]
fn generic_password_assignment_is_found() {
    let ids = secret_ids(&guard(""), "db_password = \"Tr0ub4dor&3xK9mq\"");
    assert_eq!(ids, ["secret.database_password"], "{ids:?}");
    let ids = secret_ids(&guard(""), "SERVICE_SECRET: 'q8Xz2Lm4Vn7Rt1Kp9Wc3'");
    assert_eq!(ids, ["secret.generic"], "{ids:?}");
}

#[test]
fn secrets_set_by_subscript_or_inside_an_escaped_string_are_found() {
    let g = guard("");
    for (text, secret) in [
        // Notebooks and scripts set keys through the environment mapping.
        (
            "os.environ[\"ACME_API_KEY\"] = \"5Xg3mXBOKOgxYsYYp3Y8jRet9WvVxG2O\"",
            "5Xg3mXBOKOgxYsYYp3Y8jRet9WvVxG2O",
        ),
        ("os.environ['DB_PASSWORD'] = 'Kx9!mP2qRt'", "Kx9!mP2qRt"),
        (
            "ENV[\"SECRET_TOKEN\"] = \"Qk3xV9bL2mN8pR4tY7wZ1cH6jF0gD5sA9eU3\"",
            "Qk3xV9bL2mN8pR4tY7wZ1cH6jF0gD5sA9eU3",
        ),
        // The same line inside a JSON string (a notebook cell), quotes escaped.
        (
            "{\"cells\":[{\"source\":[\"os.environ[\\\"ACME_API_KEY\\\"] = \\\"5Xg3mXBOKOgxYsYYp3Y8jRet9WvVxG2O\\\"\\n\"]}]}",
            "5Xg3mXBOKOgxYsYYp3Y8jRet9WvVxG2O",
        ),
        (
            "openai.api_key = \\\"sk-proj-Qk3xV9bL2mN8pR4tY7wZ1cH6jF0gD5sA9eU3Qk3xV9bL2mN8pR4tY7wZ1cH6jF0gD5s\\\"",
            "sk-proj-Qk3xV9bL2mN8pR4tY7wZ1cH6jF0gD5sA9eU3Qk3xV9bL2mN8pR4tY7wZ1cH6jF0gD5s",
        ),
    ] {
        assert_secret_span(&g, text, secret);
    }
}

#[test]
fn a_key_named_after_a_provider_that_begins_like_a_data_structure_word_is_a_secret() {
    let g = guard("");
    // `str`, `map`, `word`, `hot` begin these names but are not words of them.
    for name in ["STRIPE_KEY", "mapbox_key", "wordpressKey", "HOTJAR_KEY"] {
        let text = format!("{name} = \"Qk3xV9bL2mN8pR4tY7wZ1cH6jF0gD5sA9eU3\"");
        assert_secret_span(&g, &text, "Qk3xV9bL2mN8pR4tY7wZ1cH6jF0gD5sA9eU3");
    }
    // Data-structure and UI keys, as words or joined to the key, are not secrets.
    for name in [
        "cacheKey",
        "sortkey",
        "STR_KEY",
        "hot_key",
        "ORDERS_STREAM_KEY",
    ] {
        let text = format!("{name} = \"Qk3xV9bL2mN8pR4tY7wZ1cH6jF0gD5sA9eU3\"");
        assert!(secret_ids(&g, &text).is_empty(), "{text}");
    }
}

#[test]
fn keys_given_in_chat_after_bearer_in_a_relative_clause_or_with_use_as_are_found() {
    let g = guard("");
    let key = "Qk3xV9bL2mN8pR4tY7wZ1cH6jF0gD5sA9eU3";
    for text in [
        format!("send it with Bearer {key} please"),
        format!("The API key you need is {key}."),
        format!("the token we use is {key}"),
        format!("Use {key} as the token."),
        format!("use {key} as your API key"),
    ] {
        assert_secret_span(&g, &text, key);
    }
    assert_secret_span(&g, "use Summer2024! as the wifi password", "Summer2024!");
    for text in [
        "use it as the key",
        "Use bearer authentication as the token",
        "bearer bonds are risky",
        "The key you need is in the drawer",
        "my password manager is 1Password",
    ] {
        assert!(secret_ids(&g, text).is_empty(), "{text}");
    }
}

#[test]
fn generic_secret_behind_a_long_identifier_or_in_a_header_is_found() {
    let g = guard("");
    for (text, secret) in [
        (
            "my_really_long_service_configuration_api_key = 'q8Xz2Lm4Vn7Rt1Kp9Wc3'",
            "q8Xz2Lm4Vn7Rt1Kp9Wc3",
        ),
        (
            "PAYMENTS_PRIVATE = \"Zx81Qw2Lk9Pm4Rt7Yv3N\"",
            "Zx81Qw2Lk9Pm4Rt7Yv3N",
        ),
        (
            "headers = {\"Authorization\": \"Token 9fQ2xLp7Vb3KmT8wRz4N1cYd\"}",
            "9fQ2xLp7Vb3KmT8wRz4N1cYd",
        ),
    ] {
        assert_secret_span(&g, text, secret);
    }
}

#[test]
fn passwords_assigned_or_given_in_prose_are_found() {
    let g = guard("");
    for (text, secret) in [
        ("password = \"hunter22\"", "hunter22"),
        ("REACT_APP_GUEST_PASSWORD=mycoin!1", "mycoin!1"),
        ("The default password is 'Secret123'.", "Secret123"),
        ("smtp:\n  pass: x\n  password: 'Tr0ub4dor'", "Tr0ub4dor"),
        // Prose without any token syntax still gives a password away.
        (
            "The Blooby has a default Access Point Name 'Blooby'\nThe default Password is 'blooberry'\n",
            "blooberry",
        ),
        ("my wifi password is Summer2024! thanks", "Summer2024!"),
        ("The wifi key is Xk29vLm3Qz8p", "Xk29vLm3Qz8p"),
        (
            "the access token is ya29.a0AfH6SMBx8k2",
            "ya29.a0AfH6SMBx8k2",
        ),
        (
            "The default password for the user \"pyne-user\" is \"pyne\".",
            "pyne",
        ),
        // What the password is for, in up to three words, between the word and the value.
        (
            "The password for the staging db is Tr0ub4dor&3x!",
            "Tr0ub4dor&3x!",
        ),
        (
            "the wifi password at the office is C0ffee-Time",
            "C0ffee-Time",
        ),
        ("The password on the router is admin123", "admin123"),
        // A hard-coded comparison, a short `PASS` name, aligned hash rockets, an XML keyed
        // entry and quotes escaped inside a string.
        ("if creds.Secret != \"open-sesame\" {", "open-sesame"),
        ("PASS = '`123QWERasdf'", "`123QWERasdf"),
        ("DB_PASS=s3cr3t!x", "s3cr3t!x"),
        (":password       => '4ian1234',", "4ian1234"),
        (
            "<add key=\"FromEmailPassword\" value=\"Prestigitariu$\"/>",
            "Prestigitariu$",
        ),
        ("$password = \\\"goodspec\\\";", "goodspec"),
    ] {
        assert_secret_span(&g, text, secret);
    }
}

#[test]
fn compound_names_uuid_tokens_and_yaml_block_values_are_found() {
    let g = guard("");
    for (text, secret) in [
        // `jwtsecret` is one compound word, unlike `notoken`.
        (
            "oauthproviders:\n  jwtsecret: \"7`D'}/vYR)T;W\\5]EBrf;_&k>qX??]G&3CF=;@vyrVBp\"\n",
            "7`D'}/vYR)T;W\\5]EBrf;_&k>qX??]G&3CF=;@vyrVBp",
        ),
        // Jenkins tokens are UUIDs under a token's name.
        (
            "readonly static string jenkinsToken = \"df490bc6-ef6e-4f6a-99a0-b03d26cb56f9\";",
            "df490bc6-ef6e-4f6a-99a0-b03d26cb56f9",
        ),
        // A YAML value on the line after its key.
        (
            "mapboxApiKey:\n  'pk.eyJ1Ijoia3Jpc3R3IiwiYSI6ImNqbGg1N242NTFl.lUneM-o3NucXN189EYyXxQ',\n",
            "pk.eyJ1Ijoia3Jpc3R3IiwiYSI6ImNqbGg1N242NTFl.lUneM-o3NucXN189EYyXxQ",
        ),
        // An Azure DevOps token in its older 52-character base32 form.
        (
            "    ado_pat =  \"iyfmob6xjrfmit67anxbot64umfx2clwx7dz5ynxi4q2z3uqegvq\"",
            "iyfmob6xjrfmit67anxbot64umfx2clwx7dz5ynxi4q2z3uqegvq",
        ),
    ] {
        assert_secret_span(&g, text, secret);
    }
    // UUIDs under request, trace or object ids are not credentials.
    for text in [
        "csrf_token = \"123e4567-e89b-12d3-a456-426614174000\"",
        "auth_request_id = \"123e4567-e89b-12d3-a456-426614174000\"",
        "notoken = \"Zq81Lm0Xv7Tr5Kp2Wc3Nb6Hd\"",
        // npm's UUID tokens were revoked in 2025; its tokens are `npm_` and 36 characters.
        "-export NPM_TOKEN=\"007e65c7-635d-4d54-8294-f360cb8e2e3f\"",
    ] {
        assert!(
            secret_ids(&g, text).is_empty(),
            "{text}: {:?}",
            secret_ids(&g, text)
        );
    }
}

#[test]
fn secrets_pasted_into_chat_prompts_are_found() {
    // The prompts of LLM Guard's secret scanner tests: a user pastes a key while asking for
    // help. A documentation key under its provider's name counts too (it gets pasted as real).
    let g = guard("");
    for (text, secret) in [
        (
            "I need to pass a key\naws_secret_access_key=\"wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY\"",
            "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
        ),
        (
            "My github token is: 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",
            "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",
        ),
        (
            "Use this URL: https://username:password@llm-guard.com",
            "password",
        ),
    ] {
        assert_secret_span(&g, text, secret);
    }
    // A documentation key known only by its format stays an example.
    assert!(secret_ids(&g, "aws_access_key: AKIAIOSFODNN7EXAMPLE").is_empty());
    assert!(secret_ids(&g, "Just a simple prompt").is_empty());
}

#[test]
fn passwords_labelled_in_other_languages_are_found() {
    let g = guard("");
    for (text, secret) in [
        ("Benutzer: admin, Passwort: Tr0ub4dor&3", "Tr0ub4dor&3"),
        ("usuario: juan / contraseña: Kx92mLq7!", "Kx92mLq7!"),
        (
            "Identifiant : marie — mot de passe : Soleil2024!",
            "Soleil2024!",
        ),
        ("senha: Br4sil#2024", "Br4sil#2024"),
        ("логин: ivan, пароль: Zx81!mKq", "Zx81!mKq"),
        ("ユーザー: taro パスワード：Sakura2024!", "Sakura2024!"),
        ("密码：Abc12345!x", "Abc12345!x"),
        ("비밀번호: Seoul2024!", "Seoul2024!"),
        ("wachtwoord = \"Amst3rdam!\"", "Amst3rdam!"),
    ] {
        assert_secret_span(&g, text, secret);
    }
    for text in [
        "Passwort vergessen? Klicken Sie hier.",
        "Mot de passe oublié ?",
    ] {
        assert!(secret_ids(&g, text).is_empty(), "{text}");
    }
}

#[test]
fn passwords_on_command_lines_are_found() {
    // Shell history and runbooks: a password given to a tool as a flag.
    let g = guard("");
    for (text, secret) in [
        ("mysql -u root -pS3cr3tPw! mydb", "S3cr3tPw!"),
        (
            "sshpass -p \"Winter2024!\" ssh admin@10.0.0.5",
            "Winter2024!",
        ),
        ("net user administrator P@ssw0rd123 /add", "P@ssw0rd123"),
        ("pgcli --password Kx92mLq7vZ", "Kx92mLq7vZ"),
        (
            "curl --cacert ca.crt -u elastic:P@ssw0rd$1 https://localhost:9200",
            "P@ssw0rd$1",
        ),
        (
            "curl -k -X POST https://host:11222/rest \\\n  -u developer:yqDVtkqPECriaLRi",
            "yqDVtkqPECriaLRi",
        ),
        // An API key as the user with an empty password, and a quoted password.
        (
            "curl -u \"d2LkV78zLx!t:\" https://localhost:9200",
            "d2LkV78zLx!t",
        ),
        (
            "curl --user kevin:'pRf7vG2h1L8nQkW9' -iX PATCH",
            "pRf7vG2h1L8nQkW9",
        ),
        (
            "$cred = ConvertTo-SecureString \"6AAcfcdFBBeCF8fdD9FfBCE8052E057adD83a066\" -AsPlainText -Force",
            "6AAcfcdFBBeCF8fdD9FfBCE8052E057adD83a066",
        ),
        // JSON quoted inside a string literal.
        (
            "\"\\\"awsSecretKey\\\":\\\"3lyTWqHMt5UySny2drdPYheRTEzrNux8Cn5JWFHL\\\",\" +",
            "3lyTWqHMt5UySny2drdPYheRTEzrNux8Cn5JWFHL",
        ),
    ] {
        assert_secret_span(&g, text, secret);
    }
    // A prompt for the password, a variable, a file of it, or a bare word.
    for text in [
        "mysql -u root -p mydb",
        "mysql -u root -p$MYSQL_PWD",
        "app --password $PASS",
        "net user bob * /add",
        "$pw = ConvertTo-SecureString $plain -AsPlainText -Force",
        "use --password-file /etc/pw",
        "run --password config",
        "curl -u \"$USER:$PASS\" https://example.org",
        "curl -i -u 'test:test'",
    ] {
        assert!(
            secret_ids(&g, text).is_empty(),
            "{text}: {:?}",
            secret_ids(&g, text)
        );
    }
}

#[test]
fn code_identifiers_types_and_number_literals_are_not_secrets() {
    // Lines of real code (Windows bindings, libc, botocore, syn) that name a password, a key or
    // a token without holding one.
    let g = guard("");
    for text in [
        "    pub lpszPassword: windows_sys::core::PWSTR,",
        "pub const IFLA_VXLAN_LOCALBYPASS: _bindgen_ty_24 = 4;",
        "            self.password = config['password']",
        "        formatter.field(\"colon2_token\", &self.colon2_token);",
        "        creds = RefreshableCredentials.create_from_metadata(",
        "pub const HKEY_CURRENT_USER: HKEY = -2147483647i32 as _;",
        "pub const PrivateKeyExportable: X509CertificateTemplatePrivateKeyFlag = 16i32;",
        "            basic_auth = self._construct_basic_auth(username, password)",
        "            // Scale pass: 2-vector",
        "        u'machine {hostname} login token password {auth_token}'",
        "pub const Ndis802_11Encryption2KeyAbsent: NDIS_802_11_WEP_STATUS = 4i32;",
        // JavaScript (npm's own packages): members, private fields, key names.
        "    const normKey = this.#normKey(key)",
        "        emitKey = !!key.emitKey",
        "{name:\"selectpagedown\",description:\"Select page down\",bindKey:\"Shift-PageDown\"}",
        "                    case tokens.semicolon:\n                        this.missingBackslash();",
    ] {
        assert!(
            secret_ids(&g, text).is_empty(),
            "{text}: {:?}",
            secret_ids(&g, text)
        );
    }
    // Random tokens whose letters do not read as words stay secrets.
    for (text, secret) in [
        (
            "sumologic_access_id_token = \"sug5XpdpaoxtOH\"",
            "sug5XpdpaoxtOH",
        ),
        (
            "atlassian_key = \"DjayBenyJrtpvydFCzAphcqc\"",
            "DjayBenyJrtpvydFCzAphcqc",
        ),
        (
            "discord_secret = \"57191826199062344565574313291212\"",
            "57191826199062344565574313291212",
        ),
    ] {
        assert_secret_span(&g, text, secret);
    }
}

#[test]
fn passwords_in_postgresql_password_file_lines_are_found() {
    // ~/.pgpass: host:port:database:user:password, `*` as a wildcard.
    let g = guard("");
    for (text, secret) in [
        (
            "db.example.com:5432:prod:appuser:Qm7pX2vL9kW3zT",
            "Qm7pX2vL9kW3zT",
        ),
        ("*:*:*:postgres:S3cr3tPg!2024\n", "S3cr3tPg!2024"),
        (
            "cat ~/.pgpass\nlocalhost:5433:analytics:reporter:vN4qL9zX2wR7",
            "vN4qL9zX2wR7",
        ),
    ] {
        assert_secret_span(&g, text, secret);
    }
    // Times, passwd lines, IPv6 addresses and the format's own description are not.
    for text in [
        "12:30:45:00:01",
        "root:x:0:0:root:/root:/bin/bash",
        "fe80:0:0:0:1234",
        "host:port:database:username:password",
        "10:5432:00:00:000000",
    ] {
        assert!(secret_ids(&g, text).is_empty(), "{text}");
    }
}

#[test]
fn calls_declared_types_and_dotted_or_underscored_names_are_code_not_secrets() {
    // Lines of installed packages (tract, windows-sys, awscli, lib2to3, npm's tuf models) that
    // the generic detector once reported.
    let g = guard("");
    for text in [
        "            RoutedInputMode::TokenRows => as_2d_tokens(input_t.to_plain_array_view::<f32>()?),",
        "pub const NTMS_LM_DOORACCESS: NtmsLmOperation = 9i32;",
        "EMRFS_CSE_KMS_KEY_ID_KEY = 'fs.s3.cse.kms.keyId'",
        "X509_PUBKEY = X509_pubkey_st",
        "            key: ed25519.hexToDER(keyInfo.keyVal),",
    ] {
        assert!(
            secret_ids(&g, text).is_empty(),
            "{text}: {:?}",
            secret_ids(&g, text)
        );
    }
    // Quoted values, and tokens whose parts mix cases, stay secrets.
    for (text, secret) in [
        ("api_token = \"Xk9_QwErTy7_zZ3pLm\"", "Xk9_QwErTy7_zZ3pLm"),
        ("secret: \"as_2d_Tq8vXw3Lp9\"", "as_2d_Tq8vXw3Lp9"),
    ] {
        assert_secret_span(&g, text, secret);
    }
}

#[test]
fn values_of_the_wrong_length_under_an_aws_secret_key_name_are_not_secrets() {
    // An AWS secret access key is forty base64 characters; a value of another length under
    // its name is a test value or a fragment (Nosey Parker's negatives of its AWS rule).
    let g = guard("");
    for text in [
        "aws_secret_key: OOzkR1+hF+1ABCsIFDJMEUtqmtnZ1234567890",
        "export AWS_SECRET_ACCESS_KEY=ded7db27a4558e2ea9bbf0bf36ae0e8521618f366c",
    ] {
        assert!(secret_ids(&g, text).is_empty(), "{text}");
    }
    assert_secret_span(
        &g,
        "export AWS_SECRET_ACCESS_KEY=ded7db27a4558eea9bbf0bf36e0e8521618f366c",
        "ded7db27a4558eea9bbf0bf36e0e8521618f366c",
    );
    // Other secrets keep any length.
    assert_secret_span(&g, "export MINIO_SECRET_KEY=Qm7pX2vL9kW3", "Qm7pX2vL9kW3");
}

#[test]
fn prose_and_markup_around_secret_words_are_not_secrets() {
    let g = guard("");
    for text in [
        "the password is required for login",
        "The password for the new admin account is hashed with bcrypt",
        "The password for each user is at least 12 characters",
        "The password on my laptop is what I use for everything",
        "[default]\naws_secret_access_key=<testing secret key>\n   region=us-west-2",
        "The primary key is user_id1",
        "the token is valid for 3600s",
        "you can bypass = 12345abc the check",
        "### **Key Components**\n- Identify and describe the modules",
        "- **Access Limitations**: Limitations on access to logs",
        "The hotline is filled with secrets pic.twitter.com/5zS0WZhGCG",
        "Set `POSTGRES_PASSWORD`, `CF_R2_ACCESS_KEY_ID`, `CF_R2_SECRET_ACCESS_KEY` in the env",
        "<input type=\"hidden\" name=\"authenticity_token\" value=\"7SWa-Fo1_hsC6oovfBsJFLGPUl2EhkSWPbJhWANwgaJWBDl1vxd9VNqX\">",
    ] {
        assert!(
            secret_ids(&g, text).is_empty(),
            "{text}: {:?}",
            secret_ids(&g, text)
        );
    }
}

#[test]
fn provider_named_keys_with_made_up_looking_values_are_still_reported() {
    // The provider's name before the key is the evidence; a sequential-looking value does not
    // make it an example (`ipapi_key` also holds `api_key` inside `ipapi`).
    let g = guard("");
    assert_secret_span(
        &g,
        "ipapi_key=abcdef0123456789abcdef0123456789",
        "abcdef0123456789abcdef0123456789",
    );
    // A token whose format is exact (Anthropic keys end in `AA`) is reported even when it reads
    // like a made-up example: documentation keys get pasted as real ones.
    let key = "sk-ant-api03-abc123xyz-456def789ghij-klmnopqrstuvwx-3456yza789bcde-1234fghijklmnopby56aaaogaopaaaabc123xyzAA";
    assert_secret_span(&g, key, key);
    // The same shape without the format's ending is not that token.
    let wrong_end = key.replace("xyzAA", "xyzBB");
    assert!(!secret_ids(&g, &wrong_end).contains(&"secret.anthropic_api_key".to_string()));
}

#[test]
fn publicly_known_sdk_test_keys_are_not_secrets() {
    // Google API keys published in the Firebase SDK repositories' tests (gitleaks allowlists
    // the same values): the format alone would report them.
    let g = guard("");
    assert!(secret_ids(&g, "AIzaSyAnLA7NfeLquW1tJFpx_eQCxoX-oo6YyIs").is_empty());
    assert!(secret_ids(&g, "AIzaSyabcdefghijklmnopqrstuvwxyz1234567").is_empty());
    // The public search-only key of Algolia's npm-search index (yarn and many package sites).
    assert!(
        secret_ids(
            &g,
            "const algolia = { appId: 'OFCNCOG2CU', apiKey: '6fe4476ee5a1832882e326b506d14126' }"
        )
        .is_empty()
    );
    assert_secret_span(
        &g,
        "key: AIzaSyNHxIf32IQ1a1yjl3ZJIqKZqzLAK1XhDk-",
        "AIzaSyNHxIf32IQ1a1yjl3ZJIqKZqzLAK1XhDk-",
    );
}

#[test]
fn password_fields_selectors_and_references_are_not_passwords() {
    let g = guard("");
    for text in [
        "this.addPassword = '#add-password';",
        "password = os.environ.get(\"DB_PASSWORD\")",
        "password_field = \"user_password\"",
        "IAMUserChangePassword = \"arn:aws:iam::aws:policy/IAMUserChangePassword\"",
        "password: ${{ secrets.DB_PASSWORD }}",
        "set the password to something long",
        "usernameLabel:\"Username or email:\",passwordLabel:\"Password:\",rememberMeLabel:\"Remember me:\"",
    ] {
        assert!(secret_ids(&g, text).is_empty(), "{text}");
    }
}

#[test]
fn placeholders_templates_and_references_are_not_secrets() {
    let g = guard("");
    for text in [
        "password = \"${DB_PASSWORD}\"",
        "api_key = \"<your-api-key>\"",
        "token: xxxxxxxxxxxxxxxxxxxxxxxx",
        "secret = os.environ[\"SECRET\"]",
        "AWS_SECRET_ACCESS_KEY=****************************************",
        "password: changeme",
        "client_secret = \"{{ vault_client_secret }}\"",
        // Typed fillers: the alphabet in order, then a short tail.
        "secret_access_key = 'abcdefg12346+FJQCK'",
        "access_token: \"ABCDEFGHIJ_12345\"",
    ] {
        assert!(secret_ids(&g, text).is_empty(), "{text}");
    }
}

#[test]
fn a_secret_that_only_contains_an_alphabet_run_is_still_a_secret() {
    let g = guard("");
    for text in [
        // The run is not where the value opens, or the value is long enough for a random part.
        "secret_access_key = 'q8Zt1xabcdefg+FJQCK'",
        "api_secret = \"abcdefgT9rQ2vX7mK4pL8wZ3nB6y\"",
    ] {
        assert_eq!(secret_ids(&g, text), ["secret.generic"], "{text}");
    }
    // A weak password is still a password: people do choose `abcdefg123`.
    assert_eq!(
        secret_ids(&g, "password = \"abcdefg12346\""),
        ["secret.password"]
    );
}

#[test]
fn uuids_identifiers_and_lockfile_hashes_are_not_generic_secrets() {
    let g = guard("");
    for text in [
        "request_token_id = 123e4567-e89b-12d3-a456-426614174000",
        "\"integrity\": \"sha512-Yq2bX9k3LmN7pQ4rT8vW1zA6cD0eF5gH2iJ9kL3mN7oP4qR8sT1uV6wX0yZ5aB==\"",
        "token_type = \"refresh_token\"",
        "password_min_length = 12",
        "keyPressed = kVK_Return.u16",
    ] {
        assert!(secret_ids(&g, text).is_empty(), "{text}");
    }
}

#[test]
fn allowlisted_values_patterns_and_stopwords_are_not_reported() {
    let text = "token ghp_Zq4Vd9sKx2LmN8pRt6YwB3cH7jFe1GaU0iOk";
    assert!(!secret_ids(&guard(""), text).is_empty());
    let exact = guard("[secrets]\nallow = [\"ghp_Zq4Vd9sKx2LmN8pRt6YwB3cH7jFe1GaU0iOk\"]\n");
    assert!(secret_ids(&exact, text).is_empty());
    let pattern = guard("[secrets]\nallow_patterns = ['ghp_Zq4V.*']\n");
    assert!(secret_ids(&pattern, text).is_empty());
    let stop = guard("[secrets]\nstopwords = [\"b3ch7\"]\n");
    assert!(secret_ids(&stop, text).is_empty());
}

#[test]
fn extra_rules_from_configuration_run_and_bad_ones_are_rejected() {
    let g = guard(
        "[secrets]\nextra_rules = '''\n[[rule]]\nid = \"secret.acme\"\ndescription = \"ACME internal token\"\nkeywords = [\"acme_\"]\npattern = '\\b(acme_[a-f0-9]{24})\\b'\n'''\n",
    );
    assert_eq!(
        secret_ids(&g, "use acme_9f3b27c1d8e04a6b5c7d2e19 here"),
        ["secret.acme"]
    );
    let err = Pipeline::from_toml(
        "[secrets]\nextra_rules = '''\n[[rule]]\nid = \"secret.bad\"\ndescription = \"x\"\nkeywords = [\"k\"]\npattern = '(unclosed'\n'''\n",
    )
    .unwrap_err()
    .to_string();
    assert!(err.contains("secret.bad"), "{err}");
    let err = Pipeline::from_toml(
        "[secrets]\nextra_rules = '''\n[[rule]]\nid = \"secret.nokw\"\ndescription = \"x\"\nkeywords = []\npattern = 'abc'\n'''\n",
    )
    .unwrap_err()
    .to_string();
    assert!(err.contains("keywords"), "{err}");
}

#[test]
fn secrets_in_model_output_and_tool_results_are_redacted_too() {
    let g = guard("");
    let ctx = Context::new();
    let text = "Set STRIPE_KEY to sk_live_51HqLyjWDarjtT1zdp7dcXa9Bq3kP2 and restart.";
    assert_eq!(g.check_output(&ctx, text).action(), Action::Redact);
    assert_eq!(g.check_tool_result(&ctx, text).action(), Action::Redact);
}

#[test]
fn keyed_tokens_in_typed_declarations_and_php_appends_are_found() {
    let g = guard("");
    for text in [
        "var atlassianToken string = \"t32cdxsef6y39c2mu46j8d4c\"",
        "atlassian_token: str = 't32cdxsef6y39c2mu46j8d4c'",
        "let jira_token: &str = \"t32cdxsef6y39c2mu46j8d4c\";",
        "$atlassianToken .= \"t32cdxsef6y39c2mu46j8d4c\";",
    ] {
        assert_eq!(secret_ids(&g, text), ["secret.atlassian_token"], "{text}");
    }
    // The type word alone is not a value.
    assert!(secret_ids(&g, "var atlassianToken string").is_empty());
}

#[test]
fn keyed_tokens_in_column_aligned_configs_are_found() {
    let g = guard("");
    let text = "     fbApiKey:            \"171e84fd57f430fc59afa8fad3dbda2a\",";
    assert_eq!(secret_ids(&g, text), ["secret.facebook_secret"]);
}

/// A token passed with its quoted name to a setter (`System.setProperty("TWITCH_TOKEN", …)`,
/// `os.environ.setdefault('TWITCH_TOKEN', …)`) is assigned as surely as with `=`; a call on
/// unquoted variables is not an assignment of a literal.
#[test]
fn token_passed_to_a_setter_with_its_quoted_name_is_found() {
    let g = guard("");
    let token = "q7v2m9x4k1c8z3w6n0b5t2r7y4p9s1";
    assert_secret_span(
        &g,
        &format!("System.setProperty(\"TWITCH_TOKEN\", \"{token}\");"),
        token,
    );
    assert_secret_span(
        &g,
        &format!("os.environ.setdefault('TWITCH_TOKEN', '{token}')"),
        token,
    );
    assert!(
        secret_ids(&g, &format!("connect(twitch_token, {token})")).is_empty(),
        "unquoted name and value"
    );
    // A collection's name does not name one secret.
    assert!(secret_ids(&g, "  keyVaultToStoreSecrets: cmp2-qat-1208358310").is_empty());
    // Gradle's `buildConfigField` quotes the value twice.
    assert_secret_span(
        &g,
        "buildConfigField 'String' , 'API_KEY' , '\"951bc382db9cfee29c68634761dd6e19\"'",
        "951bc382db9cfee29c68634761dd6e19",
    );
}

#[test]
fn provider_tokens_with_sequential_bodies_are_reported() {
    // The provider's exact format is the evidence: a key written `1234567890abcdef…` in a
    // tutorial is pasted as a real one often enough, and redacting it costs nothing.
    let g = guard("");
    for secret in [
        "dop_v1_1234567890abcdef1234567890abcdef1234567890abcdef1234567890abcdef",
        "gsk_abcdefghijABCDEFGHIJ1234567890abcdefghijABCDEFGHIJ12",
        "sk_test_abcdef1234567890abcdef1234567890abcdef12",
        "NF-abcdef1234567890abcdef1234567890",
    ] {
        assert_secret_span(&g, &format!("token: {secret}"), secret);
    }
    // Under the provider's name the rule's entropy floor does not apply either.
    assert_secret_span(
        &g,
        "AXONAUT_API_KEY=12345678901234567890123456789012",
        "12345678901234567890123456789012",
    );
    // A provider's prefix on a value its rule refuses marks a made-up token, not an unnamed
    // secret.
    assert!(secret_ids(&g, "\"token1\": \"xoxp-1234567890\"").is_empty());
    assert!(secret_ids(&g, "DATABRICKS_TOKEN=dapi123456789012345678a9bc01234defg5").is_empty());
    // So does a provider's suffix: New Relic license keys end in `NRAL` after 36 hex digits.
    assert!(
        secret_ids(
            &g,
            " --set global.licenseKey=a1b2c3d4e5f6g7h8i9j0k1l2m3n4o5p6q7r8NRAL `"
        )
        .is_empty()
    );
    assert_secret_span(
        &g,
        " --set global.licenseKey=033f2f2072ca3f2cb2ec39019fa9e49cd640NRAL `",
        "033f2f2072ca3f2cb2ec39019fa9e49cd640NRAL",
    );
    // Runs of one character stay placeholders.
    assert!(
        secret_ids(
            &g,
            "okta_api_token = 00aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
        )
        .is_empty()
    );
    assert!(
        secret_ids(
            &g,
            "TAVILY_API_KEY = \"tvly-xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\""
        )
        .is_empty()
    );
}

#[test]
fn tokens_of_newer_formats_are_found() {
    let g = guard("");
    // Slack refresh tokens, Telegram bot tokens with ten-digit ids, Datadog keys named `dd-…`,
    // Okta tokens in a Terraform variable block, passwords holding `@` in a URI.
    let refresh = format!(
        "xoxe-1-{}",
        "My0xLTIxNTE3NzA2MDYtNzE5MDc2ODQ3OTg3Ny03MjE2NDY0MzYxNDcyLTliOWNhYzZhODU3ODc3NjAxZGM4ODg2ZWRkMmE2MTc3ZDA3ODY4ZmUzZjRhODkwNDI4NzY2OWYxN2NiYTY0ZjM"
    );
    assert_secret_span(&g, &refresh, &refresh);
    assert_secret_span(
        &g,
        "telegram: 1234567890:h3YLlUHP8-STgTic38bCZXDJ_6s05ERgsaM",
        "1234567890:h3YLlUHP8-STgTic38bCZXDJ_6s05ERgsaM",
    );
    assert_secret_span(
        &g,
        "dd-apikey-dd52c29224affe29d163c6bf99e5c34f",
        "dd52c29224affe29d163c6bf99e5c34f",
    );
    assert_secret_span(
        &g,
        "variable \"corp_okta_api_token\" {\n  default = \"004EWTpRQT_HJtG_nL-agxacgzYHjxPcF99kJsFzWg\"\n}",
        "004EWTpRQT_HJtG_nL-agxacgzYHjxPcF99kJsFzWg",
    );
    assert_secret_span(
        &g,
        "CONNECTION_URI=\"postgis://postgres:s2Tf2k@rLMy@db.internal:5434/elephant\"",
        "s2Tf2k@rLMy",
    );
}

#[test]
fn passwords_given_to_known_apis_and_connection_strings_are_found_even_when_weak() {
    // The call or the connection string is the evidence: `secret` is the password there.
    let g = guard("");
    for (text, secret) in [
        (
            "Server=host;Port=5432;User Id=username;Password=secret;Database=db;",
            "secret",
        ),
        (
            "$domain = New-Object DirectoryServices.DirectoryEntry(\"LDAP://10.10.10.1\",\"domain\\user\", \"secret\")",
            "secret",
        ),
        ("$mail->Password   = 'secret';  //SMTP password", "secret"),
        (
            "adoConn.Open(\"Provider=SQLOLEDB.1;User ID=bill_user; \" & \"Password =Bill2024;Initial Catalog=Bills\")",
            "Bill2024",
        ),
    ] {
        assert_secret_span(&g, text, secret);
    }
}

#[test]
fn bare_word_passwords_on_configuration_lines_are_found() {
    // INI and .env lines: the name starts the line and `=` has no spaces, so the value is a
    // literal even when it reads like a word.
    let g = guard("");
    for (text, secret) in [
        (
            "[SupportSite]\nUsername=thisismyunsername\nPassword=thisismypassword\n",
            "thisismypassword",
        ),
        (
            "[HELP_CLIENT]\nAUTO_SESSION_USERNAME=myusername\nAUTO_SESSION_PASSWORD=mypassword\n",
            "mypassword",
        ),
        ("export DB_PASSWORD=postgres # local only", "postgres"),
    ] {
        assert_secret_span(&g, text, secret);
    }
    // Code: spaces around `=`, keyword arguments, member access, shell references.
    for text in [
        "password = open_sesame\n",
        "    connect(user=user, password=hashed)\n",
        "password=config.password\n",
        "PASSWORD=$DB_PASSWORD\n",
    ] {
        assert!(
            secret_ids(&g, text).is_empty(),
            "{text}: {:?}",
            secret_ids(&g, text)
        );
    }
}

#[test]
fn password_labels_followed_by_the_value_are_found_in_several_languages() {
    let g = guard("");
    for (text, secret) in [
        (
            "Bitte verwende das Passwort Sommer2024! für den Server.",
            "Sommer2024!",
        ),
        ("la contraseña es «Tr0ub4dor»", "Tr0ub4dor"),
        ("le mot de passe est Soleil2024", "Soleil2024"),
        ("use password Xk29vLm3! to log in", "Xk29vLm3!"),
        // Chinese, Japanese and Korean write the value right after the label and its particle.
        ("密码是Abc12345", "Abc12345"),
        ("パスワードはHana2024!です", "Hana2024!"),
        ("비밀번호는 Seoul2024입니다", "Seoul2024"),
    ] {
        assert_secret_span(&g, text, secret);
    }
    // Labels followed by ordinary words are prose.
    for text in [
        "Passwort vergessen? Klicken Sie hier",
        "the password must be 8+ chars",
        "Utilities to get a password and/or other secrets",
        "güçlü şifre korumaları kullanın",
        "パスワードを忘れた場合",
    ] {
        assert!(
            secret_ids(&g, text).is_empty(),
            "{text}: {:?}",
            secret_ids(&g, text)
        );
    }
}

#[test]
fn registry_logins_kubeconfig_keys_and_userless_uris_are_found() {
    let g = guard("");
    for (text, secret) in [
        (
            "docker login -u admin -p Xk29vLm3Qz8pW registry.example.com",
            "Xk29vLm3Qz8pW",
        ),
        (
            "    client-key-data: LS0tLS1CRUdJTiBSU0EgUFJJVkFURSBLRVktLS0tLQpNSUlFcEFJQkFBS0NBUUVB",
            "LS0tLS1CRUdJTiBSU0EgUFJJVkFURSBLRVktLS0tLQpNSUlFcEFJQkFBS0NBUUVB",
        ),
        (
            "redis://:Sup3rS3cretPw@redis.internal:6379/0",
            "Sup3rS3cretPw",
        ),
    ] {
        assert_secret_span(&g, text, secret);
    }
    assert!(secret_ids(&g, "docker login -u admin -p $REGISTRY_PASSWORD").is_empty());
}

#[test]
fn secret_columns_of_tables_are_found() {
    // A user dump as CSV, TSV or a Markdown table: the column's name is the evidence.
    let g = guard("");
    for (text, secret) in [
        ("username;password\nalice;Summer2024!\n", "Summer2024!"),
        (
            "name,email,api_key\nalice,a@x.com,Zk3Lq9Wm2Xp7Rt5Yv8Nb4Hc6Jd1Fg0Se3Ua\n",
            "Zk3Lq9Wm2Xp7Rt5Yv8Nb4Hc6Jd1Fg0Se3Ua",
        ),
        ("id\tpassword\n1\tTr0ub4dor3x\n", "Tr0ub4dor3x"),
        (
            "| user | password |\n|---|---|\n| alice | Summer2024! |\n",
            "Summer2024!",
        ),
    ] {
        assert_secret_span(&g, text, secret);
    }
    // Every row, not just the first.
    let v = g.check_input(
        &Context::new(),
        "user,password\nalice,Summer2024!\nbob,Winter2023?\n",
    );
    assert_eq!(v.findings().len(), 2);
    // Prose with commas is not a table; id and hash columns are not secrets.
    for text in [
        "Use a password, not a token\nBe safe, be happy\n",
        "user,password_hash\nalice,5f4dcc3b5aa765d61d8327deb882cf99\n",
        "token_id,name\nZk3Lq9Wm2Xp7Rt5Yv8Nb4Hc6Jd1Fg0Se3Ua,alice\n",
    ] {
        assert!(
            secret_ids(&g, text).is_empty(),
            "{text}: {:?}",
            secret_ids(&g, text)
        );
    }
}

#[test]
fn passwords_under_a_login_line_are_found() {
    let g = guard("");
    assert_secret_span(
        &g,
        "From: ops@corp.com\nSubject: creds\n\nuser: jsmith\npass: Tr0ub4dor3x\n",
        "Tr0ub4dor3x",
    );
    assert!(secret_ids(&g, "// Scale pass: 2-vector\n").is_empty());
}

#[test]
fn well_known_weak_passwords_are_found_alone() {
    let g = guard("");
    for secret in [
        "password123",
        "letmein42",
        "p@ssw0rd99",
        "qwerty456",
        "trustno1",
    ] {
        assert_secret_span(&g, &format!("try {secret} first"), secret);
    }
    // Django's form fields and other names are not passwords.
    for text in [
        "password1 = forms.CharField(widget=forms.PasswordInput)",
        "if form.cleaned_data['password2'] != password1:",
        "Blink-182 played first",
    ] {
        assert!(
            secret_ids(&g, text).is_empty(),
            "{text}: {:?}",
            secret_ids(&g, text)
        );
    }
}

#[test]
fn quoted_passphrases_and_passwords_that_contain_the_word_are_found() {
    let g = guard("");
    for (text, secret) in [
        (
            "user = 'Aladdin'\npassword = 'open sesame'\n",
            "open sesame",
        ),
        (
            "private const string DevFolkoosComPfxPassword = \"thisismypassword\";",
            "thisismypassword",
        ),
        (
            "\"AdminPassword\" : \"thisismypassword\"",
            "thisismypassword",
        ),
    ] {
        assert_secret_span(&g, text, secret);
    }
    // Field names, expressions and anonymous logins (whose password is by convention an e-mail
    // address or its user part) are not.
    for text in [
        "server->user = \"anonymous\";\nserver->password = \"busybox@\";",
        "пользователь = «anonymous»; server->password = \"busybox@\";",
        "password_field = \"user_password\"",
        "IAMUserChangePassword = \"ChangePassword\"",
        "\"//localhost:1337/:_password = \"+new Buffer(\"feast\").toString(\"base64\")",
    ] {
        assert!(
            secret_ids(&g, text).is_empty(),
            "{text}: {:?}",
            secret_ids(&g, text)
        );
    }
}

#[test]
fn infrastructure_identifiers_are_recorded_with_the_action_allow() {
    let g = guard("");
    let text =
        "Our tenant is acme-corp.okta.com and the exports go to s3://acme-billing-exports/2026.";
    let v = g.check_input(&Context::new(), text);
    assert_eq!(v.action(), Action::Allow, "identifiers change nothing");
    assert_eq!(v.text(), text);
    let ids: Vec<(&str, &str, palisade::Category)> = v
        .findings()
        .iter()
        .map(|f| (&*f.detector, &text[f.span.clone()], f.category))
        .collect();
    assert!(
        ids.contains(&(
            "identifier.okta_domain",
            "acme-corp.okta.com",
            palisade::Category::Identifier
        )),
        "{ids:?}"
    );
    assert!(
        ids.iter()
            .any(|(id, span, _)| *id == "identifier.s3_uri" && *span == "s3://acme-billing-exports"),
        "{ids:?}"
    );
}

#[test]
fn arn_and_account_id_leaked_in_an_answer_are_recorded() {
    let g = guard("");
    let text = "The key is arn:aws:kms:us-east-2:324320755747:key/54348bc1-6e3b-4cda-8b1f-2c3a4b5c6d7e\naws_account_id=891511536143";
    let ids = secret_ids(&g, text);
    assert!(ids.contains(&"identifier.aws_arn".to_string()), "{ids:?}");
    assert!(
        ids.contains(&"identifier.aws_account_id".to_string()),
        "{ids:?}"
    );
}

#[test]
fn rds_endpoints_need_the_account_id_label_of_a_real_endpoint() {
    // RDS, Aurora and RDS Proxy endpoints carry a 12-character id of the account and region
    // before the region; a host with a word in its place is a placeholder of a tutorial.
    let g = guard("");
    for (text, host) in [
        (
            "DB_HOST=orders.c7hgmkfqcg3y.eu-west-1.rds.amazonaws.com",
            "orders.c7hgmkfqcg3y.eu-west-1.rds.amazonaws.com",
        ),
        (
            "host: prod.cluster-ro-c7hgmkfqcg3y.us-east-1.rds.amazonaws.com",
            "prod.cluster-ro-c7hgmkfqcg3y.us-east-1.rds.amazonaws.com",
        ),
        (
            "jdbc:mysql://app-proxy.proxy-c7hgmkfqcg3y.us-west-2.rds.amazonaws.com:3306/app",
            "app-proxy.proxy-c7hgmkfqcg3y.us-west-2.rds.amazonaws.com",
        ),
    ] {
        let v = g.check_input(&Context::new(), text);
        assert!(
            v.findings()
                .iter()
                .any(|f| f.detector == "identifier.aws_host" && &text[f.span.clone()] == host),
            "{text}: {:?}",
            secret_ids(&g, text)
        );
    }
    for text in [
        "string backend_host = \"amazon-subdomain-for-database.string.us-east-1.rds.amazonaws.com\";",
        "host = mydb.example.us-east-1.rds.amazonaws.com",
        "Endpoints end in .rds.amazonaws.com",
    ] {
        assert!(
            secret_ids(&g, text).is_empty(),
            "{text}: {:?}",
            secret_ids(&g, text)
        );
    }
}

#[test]
fn aws_managed_policy_arns_and_placeholder_tenants_are_not_identifiers() {
    let g = guard("");
    for text in [
        // AWS-managed: the same for every account.
        "Attach arn:aws:iam::aws:policy/ReadOnlyAccess to the role",
        "AUTH0_DOMAIN=${TENANT}.auth0.com",
        "see https://xxxxxxxx.okta.com/oauth2",
        "upload it to s3://bucket/key first",
    ] {
        assert!(secret_ids(&g, text).is_empty(), "{text}");
    }
}

#[test]
fn identifiers_can_be_redacted_or_switched_off() {
    let text = "client: AUTH0_CLIENT_ID='dBpXUZS34Rhg6WUKTLLj3E9yWGY6IJgV'";
    let g = guard("[rules.\"identifier\"]\naction = \"redact\"\n");
    let v = g.check_input(&Context::new(), text);
    assert_eq!(v.action(), Action::Redact);
    assert_eq!(
        v.text(),
        "client: AUTH0_CLIENT_ID='dBpX****************************'"
    );
    let off = guard("[secrets]\nidentifiers = false\n");
    assert!(secret_ids(&off, text).is_empty());
}

#[test]
fn a_secret_wins_over_an_identifier_on_the_same_span() {
    // A URI with a password and an RDS host: the password is the finding that acts, the host
    // next to it a separate identifier that never covers the password.
    let g = guard("");
    let text = "postgres://admin:Xq7pL2vN9sR4@db1.cluster-c7hgmkfqcg3y.us-east-1.rds.amazonaws.com:5432/app";
    let v = g.check_input(&Context::new(), text);
    assert_eq!(v.action(), Action::Redact);
    let spans: Vec<(&str, &str)> = v
        .findings()
        .iter()
        .map(|f| (&*f.detector, &text[f.span.clone()]))
        .collect();
    assert!(
        spans
            .iter()
            .any(|(id, s)| id.starts_with("secret.") && *s == "Xq7pL2vN9sR4"),
        "{spans:?}"
    );
    for (id, s) in &spans {
        if id.starts_with("identifier.") {
            assert!(!s.contains("Xq7pL2vN9sR4"), "{spans:?}");
        }
    }
}

#[test]
fn password_under_a_user_line_of_a_config_block_is_a_secret() {
    let g = guard("");
    assert_secret_span(
        &g,
        "user = Aladdin\n// some comment\npassword = open_sesame\n",
        "open_sesame",
    );
    // The same assignment in code, without a user above it, is a variable.
    assert!(secret_ids(&g, "def login():\n    password = open_sesame\n").is_empty());
}

#[test]
fn extra_identifier_rules_run_and_a_secret_id_among_them_is_rejected() {
    let g = guard(
        "[secrets]\nextra_identifier_rules = '''\n[[rule]]\nid = \"identifier.acme_cluster\"\ndescription = \"ACME cluster host\"\nkeywords = [\".k8s.acme.internal\"]\npattern = '\\b([a-z0-9-]+\\.k8s\\.acme\\.internal)\\b'\n'''\n",
    );
    // A bare host in prose, without any token syntax, still reaches the rule.
    let v = g.check_input(
        &Context::new(),
        "The pods run on billing-east.k8s.acme.internal today",
    );
    let f = v
        .findings()
        .iter()
        .find(|f| f.detector == "identifier.acme_cluster")
        .expect("identifier found");
    assert_eq!(f.action, Action::Allow);
    let err = Pipeline::from_toml(
        "[secrets]\nextra_identifier_rules = '''\n[[rule]]\nid = \"secret.acme\"\ndescription = \"x\"\nkeywords = [\"acme\"]\npattern = 'acme'\n'''\n",
    )
    .unwrap_err()
    .to_string();
    assert!(err.contains("identifier.<name>"), "{err}");
}

#[test]
fn a_password_changed_to_or_made_of_joined_words_in_prose_is_found() {
    let g = guard("");
    for (text, secret) in [
        (
            "I changed the wifi password to BlueHorse$42 yesterday, can you note it?",
            "BlueHorse$42",
        ),
        (
            "Voici mon mot de passe : Lune#Bleue2024, peux-tu vérifier ?",
            "Lune#Bleue2024",
        ),
        ("le mot de passe est Lune#Bleue2024", "Lune#Bleue2024"),
    ] {
        assert_secret_span(&g, text, secret);
    }
    // Advice and words joined by a hyphen are not passwords.
    for text in [
        "Set the password to something-strong and rotate it.",
        "the password is well-known to everyone",
        "Change your password to a long passphrase.",
        "the password to the vault is in 1Password",
        "the key to success is hard-work",
    ] {
        assert!(secret_ids(&g, text).is_empty(), "{text}");
    }
}

#[test]
fn passwords_in_chat_across_languages_qualifiers_and_inflections_are_found() {
    let g = guard("");
    for (text, secret) in [
        ("a senha do wifi é Praia2024!", "Praia2024!"),
        ("la contraseña de la red es Casa#2024", "Casa#2024"),
        ("hasło to Kot#2024x", "Kot#2024x"),
        ("мой пароль Медведь2024", "Медведь2024"),
        ("şifrem Kedi2024! ama giremiyorum", "Kedi2024!"),
        ("lösenordet är Sommar2024!", "Sommar2024!"),
        ("mi clave del wifi es Perro2024!", "Perro2024!"),
        ("la clé est Chat#2024", "Chat#2024"),
        // Digits alone after a password or passcode label.
        ("the passcode is 739215", "739215"),
        ("my password is 19871023", "19871023"),
    ] {
        assert_secret_span(&g, text, secret);
    }
    for text in [
        "la clave es la paciencia",
        "the key is 2048 bits",
        "the password is 8 characters long",
        "la clé API est dans le fichier 2024",
    ] {
        assert!(secret_ids(&g, text).is_empty(), "{text}");
    }
}

#[test]
fn telegram_token_inside_a_bot_api_url_and_an_fcm_server_key_are_found() {
    let g = guard("");
    assert_secret_span(
        &g,
        "curl https://api.telegram.org/bot1234567890:AAHk3mQ9vL2pR7tY6uW8zA1bC3dE5fG7hJ9/sendMessage",
        "1234567890:AAHk3mQ9vL2pR7tY6uW8zA1bC3dE5fG7hJ9",
    );
    // The key's 134-character tail, varied so that no placeholder check applies.
    let tail: String = "Hk3mQ9vL2pR7tY6uW8zA1bC3dE5fG7hJ9kL2mN4pQ6rS8tU0vW2xY4zA6bC8dE0fG2hJ4kL6mN8pQ0rS2tU4vW6xY8zA0bC2dE4fG6hJ8kL0mN2pQ4rS6tU8vW0xY2zA4bC6dE8fG0hJ2kL4mN6"
        .chars()
        .take(134)
        .collect();
    let key = format!("AAAAq7Xz2Lm:APA91b{tail}");
    assert_eq!(key.len(), 152);
    assert_secret_span(&g, &format!("legacy FCM server key: {key}"), &key);
    // A device's registration token has the same tail, but no `AAAA` key prefix.
    assert!(
        !secret_ids(&g, &format!("token fZ3kq7Xz2Lm:{}", &key[12..]))
            .contains(&"secret.firebase_fcm_server_key".to_string())
    );
}

#[test]
fn secrets_in_name_value_entries_of_kubernetes_ecs_and_hadoop_configs_are_found() {
    let g = guard("");
    for (text, secret) in [
        (
            "env:\n  - name: DB_PASSWORD\n    value: \"Zq8vN3xK7mR2\"\n",
            "Zq8vN3xK7mR2",
        ),
        (
            r#"{"name": "DB_PASSWORD", "value": "Zq8vN3xK7mR2"}"#,
            "Zq8vN3xK7mR2",
        ),
        (
            "<property><name>fs.s3a.secret.key</name><value>Zq8vN3xK7mR2aB4cD6eF8gH0</value></property>",
            "Zq8vN3xK7mR2aB4cD6eF8gH0",
        ),
        ("ansible_become_pass: Zq8vN3xK7mR2", "Zq8vN3xK7mR2"),
    ] {
        assert_secret_span(&g, text, secret);
    }
    for text in [
        "- name: API_KEY_HEADER\n  value: \"X-Api-Key\"",
        "- name: DB_PASSWORD_FILE\n  value: /run/secrets/db",
        "- name: SECRET_ROTATION_DAYS\n  value: \"30\"",
        "- name: GITHUB_TOKEN\n  valueFrom:\n    secretKeyRef:\n      name: gh\n      key: token",
        "Scale pass: 2-x",
    ] {
        assert!(secret_ids(&g, text).is_empty(), "{text}");
    }
}

#[test]
fn a_token_whose_ids_repeat_a_digit_but_whose_tail_is_random_is_a_secret() {
    let g = guard("");
    // Slack's legacy workspace token: the team and user ids are runs of ones, the tail is not.
    let token = "xoxa-2-511111111-31111111111-3111111111111-e039d02840a0b9379c";
    assert_secret_span(&g, &format!("slackToken = \"{token}\""), token);
    // Every part a run: a placeholder.
    assert!(
        secret_ids(
            &g,
            "export SLACK_TOKEN=\"xoxb-0000000000-0000000000000-xxxxxxxxxxxxxxxxxxxxxxxx\""
        )
        .is_empty()
    );
}

#[test]
fn passwords_after_labels_in_vietnamese_indonesian_greek_hebrew_arabic_persian_hindi_thai() {
    let g = guard("");
    for (text, secret) in [
        ("mật khẩu là Saigon2024!", "Saigon2024!"),
        ("kata sandi: Jakarta#2024", "Jakarta#2024"),
        ("ο κωδικός είναι Athina2024!", "Athina2024!"),
        ("הסיסמה היא TelAviv2024!", "TelAviv2024!"),
        ("كلمة المرور: Riyadh2024!", "Riyadh2024!"),
        ("رمز عبور: Tehran2024!", "Tehran2024!"),
        ("पासवर्ड: Delhi2024!", "Delhi2024!"),
        ("รหัสผ่าน: Bangkok2024!", "Bangkok2024!"),
    ] {
        assert_secret_span(&g, text, secret);
    }
    // The label in a sentence without a value.
    assert!(secret_ids(&g, "mật khẩu của bạn đã được thay đổi").is_empty());
}

#[test]
fn passwords_named_pw_and_given_as_pw_or_pwd_in_prose_are_found() {
    let g = guard("");
    for (text, secret) in [
        ("wifi_pw = \"Lq9!zk2m\"", "Lq9!zk2m"),
        (
            "https://nas.local/login?user=admin&pw=Kq8zLm2x9",
            "Kq8zLm2x9",
        ),
        ("dbPw: \"x8Kq2mZp\"", "x8Kq2mZp"),
        ("my login is jdoe and my pw is gH7!kq2M", "gH7!kq2M"),
        ("the admin pwd is Tr0ub4dor&3", "Tr0ub4dor&3"),
    ] {
        assert_secret_span(&g, text, secret);
    }
    // `pw` inside a word, and a pw in words without a made-up value.
    for text in [
        "upw=Lq9zk2m7",
        "upward momentum; pwm_duty=0.75",
        "my pw is the same as always",
    ] {
        assert!(secret_ids(&g, text).is_empty(), "{text}");
    }
}

#[test]
fn yaml_tags_in_place_of_a_password_are_references_not_passwords() {
    let g = guard("");
    for text in [
        "password: !vault |\n  $ANSIBLE_VAULT;1.1;AES256\n  62386431313533",
        "wifi_password: !secret wifi_password",
        "MasterUserPassword: !Ref DBPassword",
    ] {
        assert!(secret_ids(&g, text).is_empty(), "{text}");
    }
    // A password that starts with `!` is still one.
    assert_secret_span(&g, "password: \"!Qaz2wsx9\"", "!Qaz2wsx9");
}

#[test]
fn office_365_connector_webhooks_of_any_connector_are_teams_webhooks() {
    let g = guard("");
    let url = "https://outlook.office.com/webhook/82fc2788-c6f4-4507-a657-36c91eccfd87@93f33571-550f-43cf-b09f-cd33c338d086/JenkinsCI/4f3bbf41e81a4f36887a1a4d7cbfb2c6/82fa2788-c6f4-45c7-a657-36f91eccfd87";
    let ids = secret_ids(&g, &format!("webhookUrl: '{url}'"));
    assert_eq!(ids, ["secret.teams_webhook"], "{ids:?}");
}

#[test]
fn api_keys_given_in_words_of_other_languages_are_found() {
    let g = guard("");
    let key = "7d1f2e3c4b5a69788796a5b4c3d2e1f0";
    for text in [
        format!("Mein API-Schlüssel lautet: {key}"),
        format!("ma clé API : {key}"),
        format!("minha chave de API é {key}"),
        format!("la chiave API è {key}"),
        format!("mijn API-sleutel is {key}"),
        format!("мой API ключ: {key}"),
        format!("Токен доступа: {key}"),
        format!("私のAPIキーは {key} です"),
        format!("我的API密钥是 {key}"),
        format!("API 키는 {key} 입니다"),
        format!("el token es {key}"),
        format!("le jeton est {key}"),
    ] {
        assert_secret_span(&g, &text, key);
    }
}

#[test]
fn key_words_of_other_languages_before_ordinary_values_are_not_secrets() {
    let g = guard("");
    for text in [
        "Der Schlüssel zum Erfolg ist Ausdauer und Geduld.",
        "La clé USB contient 32GB de données",
        "Schlüssel: ISBN-978-3-16-148410-0",
        "Der Schlüssel ist user_id_2024_v2",
        "キーボードのキー: Ctrl+Shift+T2",
        "ключ: version-1.2.3-beta4",
        "密钥长度是 2048 位",
        "el token es válido durante 3600 segundos",
        "Clé primaire : id_commande_2024",
        // An assignment named by `token` is the generic detector's, with its name checks.
        "publicToken = \"9Cnzj4p4WGeKLs1Pt8QuKUpRKfFLfRYC9AIKjbJTWit\"",
    ] {
        assert!(secret_ids(&g, text).is_empty(), "{text}");
    }
}

#[test]
fn session_cookies_pasted_from_a_browser_or_curl_are_secrets() {
    let g = guard("");
    for (text, secret) in [
        (
            "Cookie: sessionid=k3j4h5g6f7d8s9a0p1o2i3u4y5t6r7e8",
            "k3j4h5g6f7d8s9a0p1o2i3u4y5t6r7e8",
        ),
        (
            "curl -H 'Cookie: _ga=GA1.2.3; PHPSESSID=9b1c0e7f3a2d4e5f6a7b8c9d0e1f2a3b' https://x",
            "9b1c0e7f3a2d4e5f6a7b8c9d0e1f2a3b",
        ),
        (
            "Set-Cookie: _shop_session=Zk8mQ2pL9xVn7cB4dF1gH6jK; Path=/; HttpOnly",
            "Zk8mQ2pL9xVn7cB4dF1gH6jK",
        ),
    ] {
        assert_secret_span(&g, text, secret);
    }
    // Preference cookies, and a session id of one repeated character.
    for text in [
        "Cookie: theme=dark; lang=en-US",
        "Cookie: sessionid=aaaaaaaaaaaaaaaaaaaaaaaaa",
    ] {
        assert!(secret_ids(&g, text).is_empty(), "{text}");
    }
}

#[test]
fn passwords_on_admin_command_lines_sql_html_and_client_calls_are_found() {
    let g = guard("");
    let pw = "Zk8mQ2pL9x";
    for text in [
        format!("sqlcmd -S srv -U sa -P {pw}"),
        format!("smbclient //srv/share -U admin%{pw}"),
        format!("openssl pkcs12 -export -in c.pem -passout pass:{pw}"),
        format!("openssl enc -aes-256-cbc -in f -out f.enc -k {pw}"),
        format!("htpasswd -b /etc/nginx/.htpasswd admin {pw}"),
        format!("htpasswd -bc .htpasswd admin '{pw}' && nginx -s reload"),
        format!("CREATE USER 'app'@'localhost' IDENTIFIED BY '{pw}';"),
        format!("CREATE DATABASE LINK l CONNECT TO app IDENTIFIED BY {pw} USING 'x';"),
        format!("<input type=\"password\" name=\"pw\" value=\"{pw}\">"),
        format!("<input value='{pw}' type='password'>"),
        format!("requests.get(url, auth=(\"admin\", \"{pw}\"))"),
        format!("session.auth = HTTPBasicAuth('admin', '{pw}')"),
        format!("DriverManager.getConnection(url, \"admin\", \"{pw}\")"),
        format!("mysql_connect(\"localhost\", \"root\", \"{pw}\")"),
        format!("$db = new PDO($dsn, 'app', '{pw}');"),
        format!("echo '{pw}' | sudo -S apt update"),
        format!("<server><id>nexus</id><password>{pw}</password></server>"),
    ] {
        assert_secret_span(&g, &text, pw);
    }
}

#[test]
fn commands_sql_and_markup_without_a_literal_password_are_not_secrets() {
    let g = guard("");
    for text in [
        // `identified by` in prose; MySQL's hashed form names no password.
        "Exceptions are identified by their class",
        "CREATE USER 'app'@'%' IDENTIFIED BY VALUES 'S:4D2C1B0A'",
        // sqlcmd's lowercase -p prints statistics.
        "sqlcmd -S srv -E -p -Q \"select 1\"",
        "<input type=\"password\" value=\"{{ form.password }}\">",
        "<input type=\"password\" name=\"pw\" value=\"\">",
        "<password>${env.NEXUS_PASSWORD}</password>",
        "if password > limit_value:",
        "echo $PASSWORD | sudo -S true",
        "requests.get(url, auth=(user, password))",
    ] {
        assert!(secret_ids(&g, text).is_empty(), "{text}");
    }
}

#[test]
fn keys_of_ai_and_email_providers_with_their_own_prefixes_are_found() {
    let g = guard("");
    for (text, id) in [
        (
            "DEEPSEEK_API_KEY: sk-33f4d05743bf2b672850882161db80a1",
            "secret.deepseek_api_key",
        ),
        (
            "resend key re_uXay1F6g_cqInkTY88mHwg2KDInTEGbOY",
            "secret.resend_api_key",
        ),
        (
            "fireworks: fw_i7FlaZ7Vt0SXjMpu3uDxYYMf",
            "secret.fireworks_api_key",
        ),
        (
            "csk-lx1c0nrlil7olmff5rlnimtmae70d7wvs5fa04irplxckxaw",
            "secret.cerebras_api_key",
        ),
        (
            "Helicone-Auth: Bearer sk-helicone-38s9v0r-z1u80yj-yy0jap6-qypmhfc",
            "secret.helicone_api_key",
        ),
        (
            "esecret_xcs01qwpyimxenvef2yz705bg3",
            "secret.anyscale_api_key",
        ),
    ] {
        let ids = secret_ids(&g, text);
        assert!(ids.iter().any(|i| i == id), "{text}: {ids:?}");
    }
    // An STS session token pasted alone, by its encoded header.
    let sts = format!(
        "IQoJb3JpZ2luX2VjEKBLhcuiS4hX4TnCt1RTrzJm8Iq0na0p+Yt1JoW56KTL{}",
        "q7Hx2Vb9Lm4Np6Rt8Zw3Yc5Kd1Fg0Jh2Sa4Qe6Tu8Io0Pl3Mk5Nj7Bh9Vg1Cf3Xd5Ze7Ay9Ws2Er4Ty6Ui8Op0As2Df4Gh6Jk8Lz1Xc3Vb5Nm7Qw9Er2Ty4Ui6"
    );
    assert_secret_span(&g, &format!("creds: {sts}"), &sts);
    // Function names with the same prefixes are not keys.
    for text in ["re_compile_pattern_cache()", "fw_version_major = 3"] {
        assert!(secret_ids(&g, text).is_empty(), "{text}");
    }
}

#[test]
fn typed_constants_nginx_headers_wifi_keys_server_directives_and_pins_are_found() {
    let g = guard("");
    let key = "aB3dE5fG7hJ9kL1mN3pQ5rS7tU9vW1xY";
    let pw = "Zk8mQ2pL9x";
    for (text, secret) in [
        (format!("const API_KEY: &str = \"{key}\";"), key),
        (format!("static TOKEN: &'static str = \"{key}\";"), key),
        (
            format!("proxy_set_header Authorization \"Bearer {key}\";"),
            key,
        ),
        (format!("wifi:\n  ssid: HomeNet\n  psk: {pw}"), pw),
        (format!("requirepass {pw}"), pw),
        (format!("masterauth \"{pw}\""), pw),
        (format!("rootpw --plaintext {pw}"), pw),
        (format!("SET PASSWORD FOR 'root'@'localhost' = '{pw}';"), pw),
        (format!("Use the passphrase {pw} to unlock it"), pw),
        ("The PIN is 4821".to_string(), "4821"),
        ("PIN-Code: 739215".to_string(), "739215"),
    ] {
        assert_secret_span(&g, &text, secret);
    }
    // Pin numbers of electronics, a hashed kickstart password, placeholder PINs.
    for text in [
        "int ledPin = 13;",
        "Connect pin 4 to GND",
        "pin: 2048",
        "PIN: 0000",
        "rootpw --iscrypted $6$rounds=4096$salt$hash",
    ] {
        assert!(secret_ids(&g, text).is_empty(), "{text}");
    }
}

#[test]
fn passwords_written_down_in_notes_and_tickets_are_found() {
    let g = guard("");
    for (text, secret) in [
        // A label and a colon, an equals sign, brackets or spaces: no code around it.
        ("PW:Vk82#qLmz", "Vk82#qLmz"),
        ("server notes\npwd=Vk82#qLmz\n", "Vk82#qLmz"),
        ("PASSWORD(Vk82#qLmz)", "Vk82#qLmz"),
        ("Passwd Vk82#qLmz", "Vk82#qLmz"),
        ("--pass Vk82#qLmz", "Vk82#qLmz"),
        ("P/W: Vk82#qLmz", "Vk82#qLmz"),
        ("DB_PW:Vk82#qLmz", "Vk82#qLmz"),
        ("pwd of deploy is Vk82#qLmz", "Vk82#qLmz"),
        ("password for deploy: Vk82#qLmz", "Vk82#qLmz"),
        // Korean labels with their particles: 비번 (password), 비밀번호, 패스워드, 암호.
        ("비번은Vk82#qLmz", "Vk82#qLmz"),
        ("패스워드:Vk82#qLmz", "Vk82#qLmz"),
        ("PW는 Vk82#qLmz 입니다", "Vk82#qLmz"),
        ("비밀번호]deploy/Vk82#qLmz", "Vk82#qLmz"),
        // An account and its password as one pair.
        ("ID/PW: deploy/Vk82#qLmz", "Vk82#qLmz"),
        ("ID PW deploy Vk82#qLmz", "Vk82#qLmz"),
        ("id pw deploy // Vk82#qLmz", "Vk82#qLmz"),
        ("(ID&PWD):deploy/Vk82#qLmz", "Vk82#qLmz"),
        ("ANYID(PW):deploy(Vk82#qLmz)", "Vk82#qLmz"),
        ("user/pass: deploy,Vk82#qLmz", "Vk82#qLmz"),
        ("ID:deploy PW:Vk82#qLmz", "Vk82#qLmz"),
        ("username:deploy pass:Vk82#qLmz", "Vk82#qLmz"),
        ("계정:deploy 비번:Vk82#qLmz", "Vk82#qLmz"),
        ("<ID>deploy</ID> <PW>Vk82#qLmz</PW>", "Vk82#qLmz"),
        ("(ID)deploy/(PW)Vk82#qLmz", "Vk82#qLmz"),
        // The value before its label.
        ("deploy is the user, Vk82#qLmz is the password", "Vk82#qLmz"),
        // No password label at all: an account label, a command or a host, then the pair.
        ("ID:deploy/Vk82#qLmz", "Vk82#qLmz"),
        ("Login: j.smith/Vk82#qLmz", "Vk82#qLmz"),
        ("계정:j.smith,Vk82#qLmz", "Vk82#qLmz"),
        ("telnet(j.smith/Vk82#qLmz)", "Vk82#qLmz"),
        ("ssh ops@10.20.30.40 (deploy/Vk82#qLmz)", "Vk82#qLmz"),
    ] {
        assert_secret_span(&g, text, secret);
    }
}

#[test]
fn note_labels_in_code_and_prose_without_a_password_are_not_secrets() {
    let g = guard("");
    for text in [
        // `pass` the English word, and comments of code.
        "Please pass Q3-Report to Anna before noon.",
        "            // Scale pass: 2-vector reduction",
        "    /// Pass -Zbuild-std to cargo",
        "pass  # nothing to do",
        "cd $(pwd)/build && make",
        // A label with a word, a placeholder, a reference, a path or a dotted name.
        "the password is incorrect",
        "Summer is the password season",
        "PW: xxxx-xxxx",
        "pw:master",
        "username:admin/pw:admin",
        "password: ${DB_PASSWORD}",
        "pwd: os.getcwd()",
        "pw = user.pw2",
        "ID:deploy/config.yml",
        // Lowercase `id:` keys of JSON and YAML, and repositories.
        "id: octocat/Hello-World2",
        "ssh -p 2222 # port number - not a password",
        "http://192.168.0.1/master/branch",
        // A JSON key after a value that names a key, and a query string's next parameter.
        r#"{"label": "api-custom-key", "5d0e2c11-bead-4f00-cafe-01a2b3c": "not-a-secret"}"#,
        "wiki/page.action?spaceKey=OPS&title=RUNBOOK\",",
    ] {
        assert!(
            secret_ids(&g, text).is_empty(),
            "{text}: {:?}",
            secret_ids(&g, text)
        );
    }
}

#[test]
fn values_after_a_line_continuation_and_auth_strings_in_code_are_found() {
    let g = guard("");
    for (text, secret) in [
        // Python's backslash continuation between the name and its value.
        ("PASSWORD = \\\n        \"Qx7Lp2Wm9d\"\n", "Qx7Lp2Wm9d"),
        (
            "CREDENTIAL=\\\n'6fa2b0c94d1e83a75c0e9b2d4f6a1c38'\n",
            "6fa2b0c94d1e83a75c0e9b2d4f6a1c38",
        ),
        // `Basic …` and `Bearer …` in string literals, not only in an Authorization header.
        (
            "AUTH = \"Basic c3ZjLWJvdDpRN3hMcDJXbTlk\"",
            "c3ZjLWJvdDpRN3hMcDJXbTlk",
        ),
        (
            "fetch(url, { headers: { auth: 'Bearer 5f0c9a7e2b1d4c3a8e6f' } })",
            "5f0c9a7e2b1d4c3a8e6f",
        ),
        (
            "curl --oauth2-bearer \"Zk29sLmQx81vN0pTr5Yw7e==\" https://api.example.net",
            "Zk29sLmQx81vN0pTr5Yw7e==",
        ),
    ] {
        assert_secret_span(&g, text, secret);
    }
    // Words after `Basic` are a title, not credentials.
    for text in [
        "title: \"Basic Authentication\"",
        "x = \"Basic Username\"",
        "label = 'Basic Settings2'",
    ] {
        assert!(secret_ids(&g, text).is_empty(), "{text}");
    }
}

#[test]
fn hard_coded_fallbacks_of_secret_environment_variables_are_found() {
    let g = guard("");
    for (text, secret) in [
        (
            "db_pass = os.getenv(\"APP_DB_PASSWORD\", \"Qx7Lp2Wm9d\")",
            "Qx7Lp2Wm9d",
        ),
        (
            "PASSWORD = os.environ.get(\"PASSWORD\") or \"k3Yb!r9Zq\"",
            "k3Yb!r9Zq",
        ),
        (
            "const key = process.env.SHOP_API_KEY || \"x7Qp2Lm9Vd4Rt8Wz1Ny6\";",
            "x7Qp2Lm9Vd4Rt8Wz1Ny6",
        ),
        // Ruby, PHP, Kotlin, python-decouple, Go and Rust spell the fallback their own way.
        (
            "api_key = ENV.fetch(\"STRIPE_API_KEY\") { \"Xk9mQ2vLp7Rt\" }",
            "Xk9mQ2vLp7Rt",
        ),
        (
            "token = ENV[\"GH_TOKEN\"] || \"Xk9mQ2vLp7Rt\"",
            "Xk9mQ2vLp7Rt",
        ),
        ("$pass = getenv('DB_PASS') ?: 'Xk9#mQ2vLp';", "Xk9#mQ2vLp"),
        (
            "val secret = System.getenv(\"JWT_SECRET\") ?: \"Xk9mQ2vLp7Rt\"",
            "Xk9mQ2vLp7Rt",
        ),
        (
            "SECRET_KEY = config('SECRET_KEY', default='Xk9mQ2vLp7Rt3zz')",
            "Xk9mQ2vLp7Rt3zz",
        ),
        (
            "secret = os.getenv(\"APP_SECRET\", default=\"Xk9mQ2vLp7Rt\")",
            "Xk9mQ2vLp7Rt",
        ),
        (
            "pw := cmp.Or(os.Getenv(\"DB_PASSWORD\"), \"Xk9mQ2vLp7Rt\")",
            "Xk9mQ2vLp7Rt",
        ),
        (
            "let key = std::env::var(\"API_KEY\").unwrap_or(\"Xk9mQ2vLp7Rt\".to_string());",
            "Xk9mQ2vLp7Rt",
        ),
        (
            "let key = env::var(\"API_KEY\").unwrap_or_else(|_| \"Xk9mQ2vLp7Rt\".into());",
            "Xk9mQ2vLp7Rt",
        ),
        // A bytes default, escaped quotes.
        ("x = getenv(\"DBPW\", b\"GEHE1MNIS\")", "GEHE1MNIS"),
        ("create(getenv(\\\"SECRET\\\", \\\"TeRcE52\\\"))", "TeRcE52"),
    ] {
        assert_secret_span(&g, text, secret);
    }
    // Paths, URLs, plain words and placeholders are not secrets.
    for text in [
        "x = os.getenv(\"PASSWORD_FILE\", \"/run/secrets/db\")",
        "x = os.getenv(\"TOKEN_URL\", \"https://auth.example.com/token\")",
        "x = os.getenv(\"SECRET_BACKEND\", \"vault\")",
        "const t = process.env.GITHUB_TOKEN ?? \"changeme\";",
        "const p = process.env.REACT_APP_DEV_PASSWORD || \"not-set\"",
        "password = os.environ.get(\"DB_PASSWORD\", \"\")",
        "SECRET_KEY = config('SECRET_KEY', default='')",
        "SECRET = getenv(\"GEHE1MN15\", '')",
        "CFG = getenv(&quot;SECRET&quot;, None)",
    ] {
        assert!(secret_ids(&g, text).is_empty(), "{text}");
    }
}

#[test]
fn key_labels_of_other_languages_followed_by_spaces_alone_are_found() {
    let g = guard("");
    // Korean "토큰" (token) and "API 키" (API key), German "Schlüssel" (key).
    for (text, secret) in [
        ("토큰 Zk29sLmQx81vN0pTr5", "Zk29sLmQx81vN0pTr5"),
        ("API 키 Zk29sLmQx81vN0pTr5", "Zk29sLmQx81vN0pTr5"),
        ("Schlüssel Zk29sLmQx81vN0pTr5", "Zk29sLmQx81vN0pTr5"),
    ] {
        assert_secret_span(&g, text, secret);
    }
    assert!(secret_ids(&g, "Schlüssel ISBN-978-3-16-148410-0 bestellen").is_empty());
}

#[test]
fn secrets_in_xml_elements_with_attributes_and_names_in_capitals_are_found() {
    let g = guard("");
    for (text, secret) in [
        (
            "<Country name=\"Norway\">\n  <password name=\"password\">fjord#9x</password>\n</Country>",
            "fjord#9x",
        ),
        (
            "<root>\n  <token name=\"token\" comment=\"service\">\n    Zk29sLmQx81vN0pTr5Yw7eQ4bH6cJ2nA\n  </token>\n</root>",
            "Zk29sLmQx81vN0pTr5Yw7eQ4bH6cJ2nA",
        ),
        // `pass` inside a name in capitals: only a value drawn at random.
        (
            "MYSQLPASS: Ce7shE0ENPiBlEJO+EdEose0cBAA",
            "Ce7shE0ENPiBlEJO+EdEose0cBAA",
        ),
    ] {
        assert_secret_span(&g, text, secret);
    }
    for text in [
        "if (password > limit) { warn(); }",
        "<input name=\"password\" type=\"text\"> hello",
        "LOCALBYPASS: enabled2",
    ] {
        assert!(secret_ids(&g, text).is_empty(), "{text}");
    }
}

#[test]
fn private_json_web_keys_are_found_and_public_ones_are_not() {
    let g = guard("");
    assert_secret_span(
        &g,
        r#"{"keys": [{"kty": "oct", "kid": "hmac-1", "k": "Qm9vN3Fz5fZvRGADkL2pX8"}]}"#,
        "Qm9vN3Fz5fZvRGADkL2pX8",
    );
    assert_secret_span(
        &g,
        r#"{"d": "Tz8mQ2vLx91Rk4PbN7yWc3HsJ6gAe0Uf", "crv": "P-256", "kty": "EC"}"#,
        "Tz8mQ2vLx91Rk4PbN7yWc3HsJ6gAe0Uf",
    );
    let public = r#"{"kty":"RSA","e":"AQAB","kid":"2024-01","n":"0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw"}"#;
    assert!(secret_ids(&g, public).is_empty());
}

#[test]
fn passwords_for_a_named_thing_in_german_and_russian_and_redis_cli_passwords_are_found() {
    let g = guard("");
    for (text, secret) in [
        // "The password for the server is …" in German; "the password from the server: …" in Russian.
        ("Das Passwort für den Server lautet Vk82#qLmz", "Vk82#qLmz"),
        ("пароль от сервера: Vk82#qLmz", "Vk82#qLmz"),
        ("redis-cli -h cache.internal -a Vk82qLmz7 ping", "Vk82qLmz7"),
        ("creds: deploy / Vk82#qLmz", "Vk82#qLmz"),
        // A query string's password ends where the next parameter starts.
        (
            "GET /login?user=x&password=Vk82qLmz7&next=/home",
            "Vk82qLmz7",
        ),
    ] {
        assert_secret_span(&g, text, secret);
    }
}

#[test]
fn user_password_pairs_after_a_private_address_are_found_but_url_paths_are_not() {
    let g = guard("");
    for (text, secret) in [
        ("db01 10.0.3.7 root/Vk82#qLmz", "Vk82#qLmz"),
        ("192.168.0.1(admin/Vk82#qLmz)", "Vk82#qLmz"),
        ("172.16.4.2 --> deploy/Vk82#qLmz\n", "Vk82#qLmz"),
    ] {
        assert_secret_span(&g, text, secret);
    }
    for text in [
        "http://192.168.0.1/admin/Console2x",
        "127.0.0.1/root/OTHER_ETC/job/COVERAGE_32/376/",
        "ifconfig eth0 192.168.0.1 netmask 255.255.255.0",
        "10.0.3.2 Ancient Library",
        "version 10.15.7 build/Release-2",
    ] {
        assert!(secret_ids(&g, text).is_empty(), "{text}");
    }
}

#[test]
fn secrets_assigned_in_r_haskell_csharp_and_visual_basic_and_under_security_names_are_found() {
    let g = guard("");
    let v = "Zk29sLmQx81vN0pTr5Yw7e";
    for text in [
        format!("api_key <- \"{v}\""),
        format!("apiKey = \"{v}\" :: String"),
        format!("public string ApiKey {{ get; set; }} = \"{v}\";"),
        format!("Dim apiKey As String = \"{v}\""),
        // `security` holds `uri`, a word that names no secret, only inside another word.
        format!("app.security.jwt_secret={v}"),
        format!("SECURITY_TOKEN = \"{v}\""),
    ] {
        assert_secret_span(&g, &text, v);
    }
    assert_secret_span(&g, "Dim password As String = \"Qx7Lp2Wm9d\"", "Qx7Lp2Wm9d");
    // Names that say the value is not the secret itself still stop it.
    for text in [
        format!("token_length = \"{v}\""),
        format!("secretName = \"{v}\""),
        format!("api_key_file = \"{v}\""),
        "token <- getAccessToken conn".to_string(),
    ] {
        assert!(secret_ids(&g, &text).is_empty(), "{text}");
    }
}

#[test]
fn secrets_in_sql_insert_statements_are_found_by_their_column() {
    let g = guard("");
    for (text, secret) in [
        (
            "INSERT INTO users (name, password) VALUES ('admin', 'Vk82#qLmz');",
            "Vk82#qLmz",
        ),
        (
            "INSERT INTO `oauth_clients` (`id`, `client_secret`) VALUES (1, 'Zk29sLmQx81vN0pTr5Yw7e');",
            "Zk29sLmQx81vN0pTr5Yw7e",
        ),
        // Every row, and a quote doubled inside the string.
        (
            "INSERT INTO users (email, password) VALUES ('a@example.com', 'x'), ('b@example.com', 'it''s-S3cret');",
            "it''s-S3cret",
        ),
    ] {
        assert_secret_span(&g, text, secret);
    }
    for text in [
        "INSERT INTO users (name, password_hint) VALUES ('admin', 'my dog2');",
        "INSERT INTO users (name, password) VALUES (?, ?);",
        "insert into settings (key, value) values ('theme', 'dark2x');",
    ] {
        assert!(secret_ids(&g, text).is_empty(), "{text}");
    }
}

#[test]
fn passwords_and_keys_given_in_indonesian_thai_hindi_spanish_and_german_are_found() {
    let g = guard("");
    for (text, secret) in [
        // Indonesian "kata sandinya adalah" (its password is), Thai "รหัสผ่านคือ" (the password
        // is, written without a space), Hindi "पासवर्ड है" (the password is).
        ("kata sandinya adalah Vk82#qLmz7", "Vk82#qLmz7"),
        ("รหัสผ่านคือ Vk82#qLmz7", "Vk82#qLmz7"),
        ("पासवर्ड है Vk82#qLmz7", "Vk82#qLmz7"),
        // English `token`/`API key` before a Spanish or German verb.
        (
            "el token de acceso es Zk29sLmQx81vN0pTr5Yw7e",
            "Zk29sLmQx81vN0pTr5Yw7e",
        ),
        (
            "mi API key es Zk29sLmQx81vN0pTr5Yw7e",
            "Zk29sLmQx81vN0pTr5Yw7e",
        ),
        (
            "meine API-Key ist Zk29sLmQx81vN0pTr5Yw7e",
            "Zk29sLmQx81vN0pTr5Yw7e",
        ),
    ] {
        assert_secret_span(&g, text, secret);
    }
}

#[test]
fn passwords_given_to_command_line_tools_are_found() {
    let g = guard("");
    for (text, secret) in [
        (
            "mongo -u admin -p Qx7Lp2Wm9d --authenticationDatabase admin",
            "Qx7Lp2Wm9d",
        ),
        ("az login -u ops@example.com -p Qx7Lp2Wm9d", "Qx7Lp2Wm9d"),
        (
            "psexec \\\\host01 -u deploy -p Qx7Lp2Wm9d cmd",
            "Qx7Lp2Wm9d",
        ),
        (
            "ipmitool -I lanplus -H 10.0.0.9 -U admin -P Qx7Lp2Wm9d power status",
            "Qx7Lp2Wm9d",
        ),
        (
            "ldapsearch -x -D \"cn=admin,dc=example,dc=com\" -w Qx7Lp2Wm9d -b dc=example",
            "Qx7Lp2Wm9d",
        ),
        (
            "keytool -list -keystore app.jks -storepass Qx7Lp2Wm9d",
            "Qx7Lp2Wm9d",
        ),
        (
            "jarsigner -keypass 'Qx7Lp2Wm9d' app.jar signer",
            "Qx7Lp2Wm9d",
        ),
        ("xfreerdp /u:deploy /p:Qx7Lp2Wm9d /v:host01", "Qx7Lp2Wm9d"),
        (
            "schtasks /Create /TN job /TR run.bat /RU deploy /RP Qx7Lp2Wm9d",
            "Qx7Lp2Wm9d",
        ),
        ("rabbitmqctl add_user deploy Qx7Lp2Wm9d", "Qx7Lp2Wm9d"),
        (
            "echo 'Qx7Lp2Wm9d' | docker login -u deploy --password-stdin",
            "Qx7Lp2Wm9d",
        ),
        ("echo \"root:Qx7Lp2Wm9d\" | chpasswd", "Qx7Lp2Wm9d"),
        ("echo Qx7Lp2Wm9d | passwd --stdin deploy", "Qx7Lp2Wm9d"),
        ("sqlplus system/Qx7Lp2Wm9d@ORCL", "Qx7Lp2Wm9d"),
        ("expdp scott/Qx7Lp2Wm9d directory=dump", "Qx7Lp2Wm9d"),
    ] {
        assert_secret_span(&g, text, secret);
    }
    // Variables, prompts, ports and files are not passwords.
    for text in [
        "mongo -u admin -p $MONGO_PASSWORD",
        "ipmitool -H 10.0.0.9 -p 623 -U admin -E power status",
        "ldapsearch -x -W -b dc=example",
        "keytool -list -keystore app.jks -storepass:env STOREPASS",
        "xfreerdp /u:deploy /p:$PW /v:host01",
        "echo $REGISTRY_TOKEN | docker login -u deploy --password-stdin",
        "docker login -u deploy --password-stdin < token.txt",
        "sqlplus / as sysdba",
        "rabbitmqctl list_users",
    ] {
        assert!(secret_ids(&g, text).is_empty(), "{text}");
    }
}

#[test]
fn network_device_and_wifi_credentials_are_found() {
    let g = guard("");
    for (text, secret) in [
        ("snmp-server community Qx7Lp2Wm9dRO RO", "Qx7Lp2Wm9dRO"),
        ("snmpwalk -v2c -c Qx7Lp2Wm9d 10.0.0.1", "Qx7Lp2Wm9d"),
        // Type 7 is an encoding anyone can reverse.
        ("username admin password 7 0822455D0A16", "0822455D0A16"),
        // Type 5 is MD5-crypt with a four-character salt.
        (
            "enable secret 5 $1$mERr$hx5rVt7rPNoS4wqbXKX7m0",
            "$1$mERr$hx5rVt7rPNoS4wqbXKX7m0",
        ),
        ("WIFI:T:WPA;S:office;P:Qx7Lp2Wm9d;;", "Qx7Lp2Wm9d"),
    ] {
        assert_secret_span(&g, text, secret);
    }
    for text in [
        "snmp-server community public RO",
        "snmpwalk -v2c -c public 10.0.0.1",
        "snmp-server location Building 4",
        "WIFI:T:nopass;S:guest;;",
    ] {
        assert!(secret_ids(&g, text).is_empty(), "{text}");
    }
}

#[test]
fn product_keys_after_their_label_are_found() {
    let g = guard("");
    for text in [
        "Activation key : ZAQW5-XCD3R-VBGTR-FRTGU-KLMNX",
        "Windows product key: 7QX2L-M9VD4-RT8WN-J3K6P-B2C9F",
        "제품 키: 7QX2L-M9VD4-RT8WN-J3K6P-B2C9F",
        "Der Lizenzschlüssel ist 7QX2L-M9VD4-RT8WN-J3K6P-B2C9F",
    ] {
        assert!(
            secret_ids(&g, text).contains(&"secret.product_key".to_string()),
            "{text}"
        );
    }
    for text in [
        // Masked, a template, or no label naming a key.
        "Activation key : ZAQWS-XCDER-*****-VBGTR-FRTGU",
        "Product key: XXXXX-XXXXX-XXXXX-XXXXX-XXXXX",
        "Order number 7QX2L-M9VD4-RT8WN-J3K6P-B2C9F shipped",
    ] {
        assert!(secret_ids(&g, text).is_empty(), "{text}");
    }
}

#[test]
fn laravel_app_key_with_its_base64_prefix_is_found() {
    let g = guard("");
    assert_secret_span(
        &g,
        "APP_KEY=base64:q8Xz2Lm4Vn7Rt1Kp9Wc3q8Xz2Lm4Vn7Rt1Kp9Wc3ab=",
        "q8Xz2Lm4Vn7Rt1Kp9Wc3q8Xz2Lm4Vn7Rt1Kp9Wc3ab=",
    );
}

#[test]
fn passwords_in_curl_and_wget_flags_and_group_policy_files_are_found() {
    let g = guard("");
    for (text, secret) in [
        (
            "curl -k --proxy-user admin:Hx7Lp2Wm9dQ4 --proxy https://proxy:8080 https://example.com",
            "Hx7Lp2Wm9dQ4",
        ),
        (
            "curl --tlspassword Hx7Lp2Wm9dQ4 https://example.com",
            "Hx7Lp2Wm9dQ4",
        ),
        (
            "curl --proxy-tlspassword Hx7Lp2Wm9dQ4 https://example.com",
            "Hx7Lp2Wm9dQ4",
        ),
        (
            "wget --ftp-password=Hx7Lp2Wm9dQ4 ftp://example.com",
            "Hx7Lp2Wm9dQ4",
        ),
        // Group Policy Preferences: AES under a key Microsoft published.
        (
            "<Properties action=\"C\" cpassword=\"j1Uyj3Vx8TY9LtLZil2uAuZkFQA/4latT76ZwgdHdhw\" userName=\"Administrator\"/>",
            "j1Uyj3Vx8TY9LtLZil2uAuZkFQA/4latT76ZwgdHdhw",
        ),
    ] {
        assert_secret_span(&g, text, secret);
    }
    // An empty flag does not take the next argument as its value.
    for text in [
        "wget --user=admin --password= https://localhost",
        "curl --tlspassword https://localhost",
        "wget --user=admin --ask-password https://localhost",
        "<Properties action=\"C\" cpassword=\"\" userName=\"User\"/>",
    ] {
        assert!(secret_ids(&g, text).is_empty(), "{text}");
    }
}

#[test]
fn the_last_word_of_a_name_says_what_its_value_is() {
    let g = guard("");
    // `resetUrlPassword` is a password, `passwordResetUrl` a URL.
    assert_secret_span(&g, "resetUrlPassword: \"Hx7Lp2Wm9dQ4\"", "Hx7Lp2Wm9dQ4");
    assert_secret_span(
        &g,
        "fileSecret = \"q8Xz2Lm4Vn7Rt1Kp9Wc3\"",
        "q8Xz2Lm4Vn7Rt1Kp9Wc3",
    );
    // A question mark inside a quoted key.
    assert_secret_span(
        &g,
        "secretKey: 'lmaoisdizareel0ne?k3yZ9'",
        "lmaoisdizareel0ne?k3yZ9",
    );
    for text in [
        "passwordResetUrl: \"q8Xz2Lm4Vn7Rt1Kp9Wc3\"",
        "tokenLength = \"q8Xz2Lm4Vn7Rt1Kp9Wc3\"",
        "publicSecretKey = \"q8Xz2Lm4Vn7Rt1Kp9Wc3\"",
    ] {
        assert!(secret_ids(&g, text).is_empty(), "{text}");
    }
}

#[test]
fn passwords_that_contain_the_word_password_and_glued_pass_names_are_found() {
    let g = guard("");
    for (text, secret) in [
        (
            "PASSWORD: HardcodedAdminPassword01",
            "HardcodedAdminPassword01",
        ),
        ("password = \"MyPassword2024\"", "MyPassword2024"),
        (
            "jdbc:mysql://db/app?user=admin&userpass=Hx7Lp2Wm9d",
            "Hx7Lp2Wm9d",
        ),
        ("DBPASS=Hx7Lp2Wm9dQ", "Hx7Lp2Wm9dQ"),
    ] {
        assert_secret_span(&g, text, secret);
    }
    // Field and variable names, and longer words ending in `pass`.
    for text in [
        "password: adminPassword",
        "password = userPassword2",
        "bypass=Hx7Lp2Wm9dQ",
        "compass = \"Hx7Lp2Wm9dQ\"",
    ] {
        assert!(secret_ids(&g, text).is_empty(), "{text}");
    }
}
