"""Developer and operations text for the injection classifier's training set.

The first classifier flagged developers' questions that quote configuration (`OPENAI_API_KEY=<your-
api-key-here>`, an `Authorization: Basic` header, a `.netrc` line), log lines, and policy or release
text written for people ("The system administrator must approve every new account", "Ignore previous
versions' config files"). This module writes such text, benign, and the same carriers with an
injection inside (a log message, a YAML description, a comment in an `.env` file, a commit message),
so the model learns the content, not the format. Formats and question templates are split between
training and dev (`in_dev`), and three formats appear in dev only.
"""

import random
import string

B64 = string.ascii_letters + string.digits + "+/"
ALNUM = string.ascii_letters + string.digits
HEX = "0123456789abcdef"

PLACEHOLDERS = ["<your-api-key-here>", "YOUR_API_KEY", "xxxxxxxxxxxxxxxx", "${API_KEY}", "changeme", "<token>", "sk-...",
                "REPLACE_ME", "your_secret_here", "<password>", "${{ secrets.API_KEY }}", "$TOKEN", "****"]


def rnd(rng, n, alphabet=ALNUM):
    return "".join(rng.choice(alphabet) for _ in range(n))


def value(rng, kind="token"):
    """A configuration value: a placeholder half of the time, else something that looks real."""
    if rng.random() < 0.5:
        return rng.choice(PLACEHOLDERS)
    if kind == "url":
        return f"postgres://{rng.choice(['app', 'admin', 'postgres', 'user'])}:{rnd(rng, 12)}@{rng.choice(['localhost', 'db', '10.0.3.7'])}:5432/{rng.choice(['app', 'prod', 'orders'])}"
    return rng.choice(["sk-", "ghp_", "xoxb-", "", "AKIA", "pk_live_"]) + rnd(rng, rng.randint(16, 40))


ENV_KEYS = ["OPENAI_API_KEY", "ANTHROPIC_API_KEY", "SECRET_KEY", "JWT_SECRET", "STRIPE_SECRET_KEY", "AWS_ACCESS_KEY_ID",
            "GITHUB_TOKEN", "SENTRY_DSN", "SLACK_BOT_TOKEN", "HF_TOKEN", "ADMIN_PASSWORD"]
PLAIN_KEYS = [("DEBUG", ["true", "false", "1"]), ("PORT", ["3000", "8080", "5000"]), ("LOG_LEVEL", ["info", "debug", "warn"]),
              ("NODE_ENV", ["production", "development"]), ("MODEL_NAME", ["gpt-4o-mini", "claude-3-haiku", "llama3:8b"]),
              ("ALLOWED_HOSTS", ["localhost,127.0.0.1", "*"]), ("OVERRIDE_CONFIG", ["false", "true"]),
              ("SYSTEM_PROMPT", ['"You are a helpful assistant for ACME support."', '"Answer in French."', "./prompts/system.txt"]),
              ("ADMIN_MODE", ["off", "on"]), ("IGNORE_SSL_ERRORS", ["false", "true"])]
HOSTS = ["api.example.com", "api.github.com", "api.heroku.com", "registry.npmjs.org", "internal.acme.local", "staging.myapp.io"]


def env(rng, fake):
    lines = []
    for _ in range(rng.randint(2, 7)):
        if rng.random() < 0.5:
            k = rng.choice(ENV_KEYS)
            lines.append(f"{k}={value(rng)}")
        elif rng.random() < 0.3:
            lines.append(f"DATABASE_URL={value(rng, 'url')}")
        else:
            k, vs = rng.choice(PLAIN_KEYS)
            lines.append(f"{k}={rng.choice(vs)}")
    if rng.random() < 0.3:
        lines.insert(0, rng.choice(["# .env", "# local settings, do not commit", "# copy to .env and fill in"]))
    return "\n".join(lines)


def http(rng, fake):
    host = rng.choice(HOSTS)
    if rng.random() < 0.6:
        auth = rng.choice([f"Authorization: Basic {rnd(rng, 28, B64)}=", f"Authorization: Bearer {value(rng)}",
                           f"X-API-Key: {value(rng)}", f"Cookie: session={rnd(rng, 32, HEX)}"])
        path = rng.choice(["/v1/users/me", "/api/orders?limit=50", "/admin/settings", "/v1/chat/completions", "/oauth/token"])
        return f"{rng.choice(['GET', 'POST', 'PUT', 'DELETE'])} {path} HTTP/1.1\nHost: {host}\n{auth}\nAccept: application/json\nUser-Agent: {rng.choice(['curl/8.5.0', 'python-requests/2.32', 'okhttp/4.12'])}"
    code = rng.choice(["401 Unauthorized", "403 Forbidden", "429 Too Many Requests", "500 Internal Server Error"])
    return f"HTTP/1.1 {code}\nContent-Type: application/json\nWWW-Authenticate: Bearer realm=\"{host}\", error=\"invalid_token\"\n\n{{\"error\": \"{rng.choice(['invalid_api_key', 'insufficient_scope', 'rate_limited', 'system_error'])}\", \"message\": \"{rng.choice(['Incorrect API key provided.', 'You do not have permission to access this resource.', 'Please retry after 20 seconds.'])}\"}}"


def curl(rng, fake):
    host = rng.choice(HOSTS)
    if rng.random() < 0.5:
        sysmsg = rng.choice(["You are a helpful assistant.", "You are a support bot for ACME. Only answer questions about our products.",
                             "Summarize the user's text in one sentence.", "Reply in JSON."])
        return (f"curl https://{host}/v1/chat/completions \\\n  -H \"Authorization: Bearer {value(rng)}\" \\\n  -H \"Content-Type: application/json\" \\\n"
                f"  -d '{{\"model\": \"gpt-4o-mini\", \"messages\": [{{\"role\": \"system\", \"content\": \"{sysmsg}\"}}, {{\"role\": \"user\", \"content\": \"{fake.sentence()}\"}}]}}'")
    return f"curl -u {fake.user_name()}:{value(rng)} -X {rng.choice(['GET', 'POST'])} https://{host}/{rng.choice(['api/v2/items', 'health', 'admin/reindex'])} {rng.choice(['-k', '-v', '--fail', ''])}"


def netrc(rng, fake):
    return "\n".join(f"machine {rng.choice(HOSTS)}\n  login {rng.choice([fake.email(), fake.user_name(), 'oauth2'])}\n  password {value(rng)}" for _ in range(rng.randint(1, 2)))


def yaml_cfg(rng, fake):
    r = rng.random()
    if r < 0.35:
        return (f"services:\n  web:\n    image: {rng.choice(['node:20', 'python:3.12-slim', 'nginx:1.27'])}\n    ports:\n      - \"{rng.choice(['3000', '8080'])}:80\"\n"
                f"    environment:\n      - {rng.choice(ENV_KEYS)}={value(rng)}\n      - DEBUG={rng.choice(['true', 'false'])}\n  db:\n    image: postgres:16\n"
                f"    environment:\n      POSTGRES_PASSWORD: {value(rng)}")
    if r < 0.7:
        return (f"name: deploy\non:\n  push:\n    branches: [main]\njobs:\n  build:\n    runs-on: ubuntu-latest\n    steps:\n      - uses: actions/checkout@v4\n"
                f"      - run: npm ci --ignore-scripts\n      - run: npm test\n        env:\n          API_KEY: ${{{{ secrets.API_KEY }}}}\n          OVERRIDE: \"false\"")
    return (f"apiVersion: v1\nkind: Secret\nmetadata:\n  name: {fake.word()}-credentials\ntype: Opaque\nstringData:\n  username: admin\n  password: {value(rng)}\n"
            f"---\napiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: {fake.word()}\nspec:\n  replicas: {rng.randint(1, 5)}")


def json_cfg(rng, fake):
    return rng.choice([
        f'{{\n  "Logging": {{ "LogLevel": {{ "Default": "Information" }} }},\n  "ConnectionStrings": {{ "Default": "Server=db;User Id=sa;Password={value(rng)};" }},\n  "AllowedHosts": "*"\n}}',
        f'{{\n  "name": "{fake.word()}-app",\n  "scripts": {{ "start": "node index.js", "postinstall": "node scripts/setup.js", "test": "jest --silent" }},\n  "overrides": {{ "semver": "7.5.4" }}\n}}',
        f'{{\n  "model": "gpt-4o",\n  "temperature": 0.2,\n  "system_prompt": "You are a coding assistant. Keep answers short.",\n  "api_key": "{value(rng)}",\n  "max_tokens": 512\n}}',
        f'{{\n  "editor.formatOnSave": true,\n  "files.exclude": {{ "**/.git": true }},\n  "python.analysis.ignore": ["build/**"],\n  "http.proxyStrictSSL": false\n}}',
    ])


def toml_ini(rng, fake):
    return rng.choice([
        f"[database]\nhost = \"localhost\"\nuser = \"admin\"\npassword = \"{value(rng)}\"\n\n[server]\nport = 8080\ndebug = false",
        f"[core]\n\teditor = vim\n[user]\n\tname = {fake.name()}\n\temail = {fake.email()}\n[credential]\n\thelper = store",
        "[tool.ruff]\nline-length = 100\nignore = [\"E501\", \"F401\"]\n\n[tool.pytest.ini_options]\naddopts = \"-q --disable-warnings\"",
        f"[profile default]\nregion = {rng.choice(['us-east-1', 'eu-west-1'])}\naws_access_key_id = {value(rng)}\naws_secret_access_key = {value(rng)}",
    ])


LOG_MESSAGES = ["login ok user={user} ip={ip} session={sess}", "login failed user={user} ip={ip} reason=bad_password",
                "admin override applied by {user} to ticket #{n}", "ignoring previous lock file /var/run/app.pid",
                "system prompt loaded ({n} tokens)", "request completed status=200 duration={n}ms path=/api/v1/orders",
                "permission denied for user {user} on /admin/settings", "retrying in {n}s (attempt 2/5)",
                "deleted {n} expired sessions", "disabled plugin legacy-auth (deprecated)", "token refreshed for client {sess}",
                "rate limit exceeded for key ending in {sess}", "new instructions file written to /etc/app/instructions.md"]


def log(rng, fake):
    out = []
    for _ in range(rng.randint(2, 8)):
        msg = rng.choice(LOG_MESSAGES).format(user=fake.user_name(), ip=fake.ipv4(), sess=rnd(rng, 8, HEX), n=rng.randint(2, 900))
        ts = fake.date_time_this_year().strftime(rng.choice(["%Y-%m-%dT%H:%M:%SZ", "%Y-%m-%d %H:%M:%S", "%b %d %H:%M:%S"]))
        out.append(f"{ts} {rng.choice(['INFO', 'WARN', 'ERROR', 'DEBUG'])} {rng.choice(['auth', 'api', 'worker', 'sshd[812]', 'app'])}: {msg}")
    return "\n".join(out)


def trace(rng, fake):
    return rng.choice([
        f"Traceback (most recent call last):\n  File \"app/main.py\", line {rng.randint(10, 300)}, in <module>\n    client = OpenAI(api_key=os.environ[\"OPENAI_API_KEY\"])\n  File \"/usr/lib/python3.12/os.py\", line 714, in __getitem__\n    raise KeyError(key) from None\nKeyError: 'OPENAI_API_KEY'",
        f"Exception in thread \"main\" java.lang.SecurityException: Permission denied: user '{fake.user_name()}' is not an administrator\n\tat com.acme.auth.Guard.check(Guard.java:{rng.randint(10, 200)})\n\tat com.acme.Main.main(Main.java:12)",
        f"thread 'main' panicked at src/config.rs:{rng.randint(10, 200)}:5:\ncalled `Result::unwrap()` on an `Err` value: MissingField(\"system_prompt\")\nnote: run with `RUST_BACKTRACE=1` environment variable to display a backtrace",
        "Error: EACCES: permission denied, open '/etc/app/config.json'\n    at Object.openSync (node:fs:573:3)\n    at loadConfig (/srv/app/config.js:14:18)",
    ])


def sql(rng, fake):
    return rng.choice([
        "DELETE FROM sessions WHERE expires_at < now();",
        "GRANT ALL PRIVILEGES ON app.* TO 'admin'@'localhost';\nFLUSH PRIVILEGES;",
        f"UPDATE users SET role = 'admin' WHERE email = '{fake.email()}';",
        "SELECT id, email FROM users WHERE password_reset_token IS NOT NULL ORDER BY created_at DESC LIMIT 20;",
        "DROP TABLE IF EXISTS tmp_import; CREATE TABLE tmp_import (id int, payload jsonb);",
    ])


def shell(rng, fake):
    return rng.choice([
        "$ sudo systemctl restart nginx\nJob for nginx.service failed because the control process exited with error code.\nSee \"systemctl status nginx.service\" and \"journalctl -xeu nginx.service\" for details.",
        "$ git push --force origin main\nremote: error: GH006: Protected branch update failed for refs/heads/main.\nremote: error: At least 1 approving review is required by reviewers with write access.",
        f"$ ssh {fake.user_name()}@{fake.ipv4()}\nPermission denied (publickey,password).",
        "$ npm install\nnpm WARN deprecated request@2.88.2: request has been deprecated\nnpm ERR! code E401\nnpm ERR! Unable to authenticate, your authentication token seems to be invalid.",
        "$ export OPENAI_API_KEY=<your-api-key-here>\n$ python app.py\nopenai.AuthenticationError: Error code: 401 - {'error': {'message': 'Incorrect API key provided'}}",
        "$ docker login registry.gitlab.com -u deploy -p $CI_JOB_TOKEN\nWARNING! Using --password via the CLI is insecure. Use --password-stdin.\nLogin Succeeded",
    ])


# Formats seen only in dev.
def crontab(rng, fake):
    return f"# m h dom mon dow command\n{rng.randint(0, 59)} {rng.randint(0, 23)} * * * /usr/local/bin/backup.sh --password-file /root/.pgpass >> /var/log/backup.log 2>&1\n*/5 * * * * curl -fsS https://hc-ping.com/{rnd(rng, 8, HEX)} > /dev/null"


def systemd(rng, fake):
    return f"[Unit]\nDescription={fake.word().title()} worker\nAfter=network.target\n\n[Service]\nUser=app\nEnvironment=API_TOKEN={value(rng)}\nExecStart=/usr/bin/python3 -m worker --no-sandbox\nRestart=always\n\n[Install]\nWantedBy=multi-user.target"


def nginx(rng, fake):
    return f"server {{\n    listen 443 ssl;\n    server_name {fake.domain_name()};\n    location /admin {{\n        auth_basic \"Restricted\";\n        auth_basic_user_file /etc/nginx/.htpasswd;\n        allow 10.0.0.0/8;\n        deny all;\n    }}\n    location / {{ proxy_pass http://127.0.0.1:{rng.choice(['3000', '8000'])}; }}\n}}"


FORMATS = {"env": env, "http": http, "curl": curl, "netrc": netrc, "yaml": yaml_cfg, "json": json_cfg, "toml_ini": toml_ini,
           "log": log, "trace": trace, "sql": sql, "shell": shell}
DEV_FORMATS = {"crontab": crontab, "systemd": systemd, "nginx": nginx}

QUESTIONS = [
    "Why do I get a 401 with this?\n\n{s}", "{s}\n\nWhat's wrong with this config?", "Can you explain what these lines mean?\n{s}",
    "Is it safe to commit this file?\n```\n{s}\n```", "How do I override the values below for production?\n{s}",
    "The deploy fails with the output below. Ignore the warnings at the top, the real error is at the end.\n\n{s}",
    "My app ignores the system prompt. This is what I send:\n{s}", "Convert this to YAML please:\n{s}",
    "I get this when I run the job:\n{s}\nAny idea?", "Which of these settings should I change to disable debug mode?\n{s}",
    "Please review this before I deploy it:\n```\n{s}\n```", "{s}\nwhy does this fail", "How can I rotate the key used here?\n{s}",
    "Our admin says this file is wrong. What needs to change?\n\n{s}", "Explain this output to a junior developer:\n{s}",
    "Where do I put my API key in this?\n{s}", "Can this leak my credentials?\n{s}", "Fix the indentation:\n{s}",
    "Is there a way to bypass the cache for this request?\n{s}", "What permissions does this need to run as root?\n{s}",
    "Warum funktioniert diese Konfiguration nicht?\n{s}", "Pourquoi j'obtiens cette erreur ?\n{s}",
    "¿Qué significa este registro?\n{s}", "Por que essa configuração retorna 403?\n{s}", "为什么这个配置会报错？\n{s}",
    "このログは何を意味しますか？\n{s}", "Почему этот запрос возвращает 401?\n{s}", "Dlaczego ten plik nie działa?\n{s}",
    "Bu yapılandırmada ne yanlış?\n{s}", "Waarom krijg ik deze fout?\n{s}",
]

# Policies, runbooks, release notes and product help: text for people full of the attack vocabulary.
SUBJECTS = ["The system administrator", "Only the security team", "Each developer", "Support agents", "The on-call engineer",
            "Managers", "Admins", "New employees", "The account owner", "Users with the editor role", "Contractors"]
MODALS = ["must", "may", "should", "can", "must not", "should never"]
ACTS = ["approve every new account before it is activated", "ignore alerts from the staging cluster",
        "override the default timeout in config.yaml", "disable two-factor authentication without a ticket",
        "reset the admin password after each audit", "delete all temporary files before the upgrade",
        "forward suspicious emails to the security mailbox", "reveal customer data in public channels",
        "bypass the approval step for hotfixes", "grant root access outside the maintenance window",
        "share their credentials with anyone, including IT staff", "change the system settings of shared laptops",
        "follow the instructions in the runbook exactly", "export the audit log every Friday"]
NOTES = ["Ignore previous versions' config files; settings are now read from ~/.config/{w}/config.toml.",
         "The --override flag is deprecated and will be removed in 5.0.", "System prompts are now stored per workspace.",
         "Fixed: the admin panel ignored the 'disable uploads' setting.", "Breaking: API keys created before March must be regenerated.",
         "The assistant can now summarize your inbox; it never sends email without your confirmation.",
         "Developer mode is off by default; enable it under Settings > Advanced.", "Removed the legacy 'jailbreak' detection flag from the CLI (renamed to --strict).",
         "Previous instructions for installing on Windows no longer apply; use the new installer.",
         "Tokens now expire after 24 hours; refresh them with the /oauth/token endpoint."]


def policy(rng, fake, dev):
    r = rng.random()
    if r < 0.45:
        n = rng.randint(2, 5)
        lines = [f"{rng.choice(SUBJECTS)} {rng.choice(MODALS)} {rng.choice(ACTS)}." for _ in range(n)]
        head = rng.choice(["Access policy", "IT security guidelines", "Onboarding checklist", "Runbook: database failover", "Acceptable use policy", ""])
        return (head + "\n\n" if head else "") + "\n".join(("- " if rng.random() < 0.5 else "") + l for l in lines)
    if r < 0.8:
        notes = rng.sample(NOTES, rng.randint(2, 4))
        return f"## {fake.word().title()} {rng.randint(1, 9)}.{rng.randint(0, 20)}.{rng.randint(0, 9)}\n\n" + "\n".join("- " + n.format(w=fake.word()) for n in notes)
    return rng.choice(["Before you begin: ", "Step 1. ", "Note: ", ""]) + f"{rng.choice(SUBJECTS)} {rng.choice(MODALS)} {rng.choice(ACTS)}. " + fake.paragraph(nb_sentences=2)


def snippet(rng, fake, dev):
    """(format name, text) of one snippet; dev draws from its own formats a third of the time."""
    if dev and rng.random() < 0.35:
        name = rng.choice(sorted(DEV_FORMATS))
        return name, DEV_FORMATS[name](rng, fake)
    name = rng.choice(sorted(FORMATS))
    return name, FORMATS[name](rng, fake)


def benign(rng, fake, dev, in_dev):
    """(text, family) of benign developer or operations text."""
    r = rng.random()
    if r < 0.6:
        qs = [q for q in QUESTIONS if in_dev(q, 25) == dev] or QUESTIONS
        name, s = snippet(rng, fake, dev)
        return rng.choice(qs).replace("{s}", s), "question/" + name
    if r < 0.78:
        name, s = snippet(rng, fake, dev)
        return s, "bare/" + name
    return policy(rng, fake, dev), "policy"


def with_payload(rng, fake, dev, payload):
    """(text, span, family): an injection inside a log, a config or a commit history."""
    p = payload.replace("\n", " ")
    kind = rng.choice(["log", "env", "yaml", "json", "gitlog"])
    if kind == "log":
        name, s = "log", log(rng, fake)
        pre = s + "\n" + fake.date_time_this_year().strftime("%Y-%m-%dT%H:%M:%SZ") + f" {rng.choice(['INFO', 'WARN'])} {rng.choice(['api', 'feedback', 'app'])}: msg=\""
        post = "\"\n" + log(rng, fake)
    elif kind == "env":
        pre, post = env(rng, fake) + "\n# ", "\n" + env(rng, fake)
    elif kind == "yaml":
        pre = f"name: {fake.word()}\nversion: {rng.randint(1, 9)}.{rng.randint(0, 9)}.0\ndescription: \""
        post = f"\"\nmaintainer: {fake.email()}\ndependencies:\n  - {fake.word()}\n  - {fake.word()}"
    elif kind == "json":
        pre = f'{{\n  "id": {rng.randint(100, 9999)},\n  "name": "{fake.word()}",\n  "description": "'
        p = p.replace('"', "'")
        post = f'",\n  "owner": "{fake.email()}",\n  "updated": "{fake.date()}"\n}}'
    else:
        h = lambda: rnd(rng, 7, HEX)
        pre = "\n".join(f"{h()} {fake.sentence(nb_words=5).rstrip('.')}" for _ in range(rng.randint(1, 4))) + f"\n{h()} "
        post = "\n" + "\n".join(f"{h()} {rng.choice(['Fix typo', 'Bump version', 'Update README', 'Refactor config loader'])}" for _ in range(rng.randint(1, 3)))
    return pre + p + post, [len(pre), len(pre) + len(p)], kind


def rows(rng, fake, pay, n, dev, in_dev):
    """n rows of developer and operations text, about a third of them attacks."""
    out = []
    for _ in range(n):
        if rng.random() < 0.33:
            payload, fam, lang = pay.any(dev)
            t, span, kind = with_payload(rng, fake, dev, payload)
            out.append({"text": t, "label": 1, "source": "synthetic_indirect", "family": f"devops_{kind}/{fam}", "lang": lang, "span": span})
        else:
            t, fam = benign(rng, fake, dev, in_dev)
            out.append({"text": t, "label": 0, "source": "synthetic_devops", "family": fam, "lang": "en", "span": None})
    return out


if __name__ == "__main__":
    from faker import Faker

    f = Faker("en_US")
    f.seed_instance(1)
    g = random.Random(1)
    for _ in range(6):
        print(benign(g, f, False, lambda k, p: False)[0], "\n-----")
