//! Path arguments confined to allowed roots.
//!
//! A path is judged in every form a tool might read it in: as given, after each round of
//! percent-decoding, and after NFKC (fullwidth `．．／`), with `/` and `\` both separators.
//! Each form is normalized lexically (`.`, `..`, repeated separators) and must stay under a
//! root, component by component (`/srv/data-evil` is not under `/srv/data`). Drive letters,
//! UNC paths, `~`, control characters and components of only dots and spaces (which Windows
//! reads as `..`) are refused. With `follow_symlinks`, the path is also resolved on this
//! machine's filesystem, the way the kernel walks it, and the result must stay under a root too
//! (a check at decision time: a link created between the check and the use is not seen).

use std::borrow::Cow;
use std::path::PathBuf;

use unicode_normalization::UnicodeNormalization;

/// Allowed roots of a path argument.
#[derive(Clone, Debug)]
pub(crate) struct Roots {
    roots: Vec<Vec<String>>,
    shown: Vec<String>,
    follow_symlinks: bool,
    resolved_roots: Vec<Vec<String>>,
}

fn components(path: &str) -> Vec<&str> {
    path.split(['/', '\\']).filter(|c| !c.is_empty()).collect()
}

fn render<S: AsRef<str>>(comps: &[S]) -> String {
    if comps.is_empty() {
        "/".into()
    } else {
        comps.iter().map(|c| format!("/{}", c.as_ref())).collect()
    }
}

impl Roots {
    /// Validates the roots: absolute, no `..`, no control characters.
    pub(crate) fn new(roots: &[String], follow_symlinks: bool) -> Result<Roots, String> {
        if roots.is_empty() {
            return Err("at least one root is needed".into());
        }
        let mut out = Roots {
            roots: Vec::new(),
            shown: Vec::new(),
            follow_symlinks,
            resolved_roots: Vec::new(),
        };
        for r in roots {
            if !r.starts_with('/') || r.chars().any(char::is_control) {
                return Err(format!("root {r:?} must be an absolute POSIX path"));
            }
            let comps = components(r);
            if comps.iter().any(|c| *c == "." || *c == "..") {
                return Err(format!("root {r:?} must not contain `.` or `..`"));
            }
            let comps: Vec<String> = comps.into_iter().map(str::to_owned).collect();
            out.shown.push(render(&comps));
            if follow_symlinks {
                // A root that exists is compared in its resolved form too.
                let resolved = std::fs::canonicalize(render(&comps))
                    .ok()
                    .and_then(|p| {
                        p.to_str()
                            .map(|s| components(s).into_iter().map(str::to_owned).collect())
                    })
                    .unwrap_or_else(|| comps.clone());
                out.resolved_roots.push(resolved);
            }
            out.roots.push(comps);
        }
        Ok(out)
    }

    /// The roots, for messages.
    pub(crate) fn shown(&self) -> String {
        self.shown.join(", ")
    }

    /// `Ok(())` when every reading of `raw` stays under a root, or why not.
    pub(crate) fn check(&self, raw: &str) -> Result<(), String> {
        if raw.is_empty() {
            return Err("empty path".into());
        }
        if raw.chars().any(char::is_control) {
            return Err("control character in path".into());
        }
        if raw.is_ascii() && !raw.contains('%') {
            // One reading only: NFKC and percent-decoding leave it as it is.
            return self.check_form(raw, raw);
        }
        let mut forms: Vec<Cow<str>> = vec![Cow::Borrowed(raw)];
        let mut cur = Cow::Borrowed(raw);
        for _ in 0..4 {
            if !cur.contains('%') {
                break;
            }
            let decoded = percent_decode(&cur)?;
            if decoded == *cur {
                break;
            }
            if decoded.chars().any(char::is_control) {
                return Err("percent-encoded control character in path".into());
            }
            forms.push(Cow::Owned(decoded.clone()));
            cur = Cow::Owned(decoded);
        }
        if cur.contains('%') && percent_decode(&cur).is_ok_and(|d| d != *cur) {
            return Err("percent-encoded more than four times".into());
        }
        let n = forms.len();
        for i in 0..n {
            if !forms[i].is_ascii() {
                let k: String = forms[i].nfkc().collect();
                if k != *forms[i] {
                    forms.push(Cow::Owned(k));
                }
            }
        }
        forms.iter().try_for_each(|f| self.check_form(f, raw))
    }

    fn check_form(&self, form: &str, raw: &str) -> Result<(), String> {
        let normalized = self.lexical(form)?;
        let under = |roots: &[Vec<String>], path: &[&str]| {
            roots
                .iter()
                .any(|r| r.len() <= path.len() && r.iter().zip(path).all(|(a, b)| a == b))
        };
        if !under(&self.roots, &normalized) {
            let how = if form == raw {
                String::new()
            } else {
                format!(" (read as {form:?})")
            };
            return Err(format!(
                "{} is outside the allowed roots {}{how}",
                render(&normalized),
                self.shown()
            ));
        }
        if self.follow_symlinks {
            let resolved = self.resolve(form);
            let resolved: Vec<&str> = resolved.iter().map(String::as_str).collect();
            if !under(&self.resolved_roots, &resolved) {
                return Err(format!(
                    "{} resolves through a symbolic link to {}, outside the allowed roots {}",
                    render(&normalized),
                    render(&resolved),
                    self.shown()
                ));
            }
        }
        Ok(())
    }

    /// Lexical normalization against the first root (for relative paths).
    fn lexical<'a>(&'a self, path: &'a str) -> Result<Vec<&'a str>, String> {
        let b = path.as_bytes();
        if b.len() >= 2 && b[0].is_ascii_alphabetic() && b[1] == b':' {
            return Err("drive-letter path".into());
        }
        if path.starts_with("\\\\") || path.starts_with("/\\") || path.starts_with("\\/") {
            return Err("UNC or device path".into());
        }
        if path.starts_with('~') {
            return Err("home-relative path (`~`)".into());
        }
        let absolute = path.starts_with(['/', '\\']);
        let mut out: Vec<&str> = Vec::with_capacity(16);
        if !absolute {
            out.extend(self.roots[0].iter().map(String::as_str));
        }
        for (i, c) in path
            .split(['/', '\\'])
            .filter(|c| !c.is_empty())
            .enumerate()
        {
            if i >= 256 {
                return Err("more than 256 path components".into());
            }
            match c {
                "." => {}
                ".." => {
                    if out.pop().is_none() {
                        return Err("climbs above `/`".into());
                    }
                }
                c if c.trim_end_matches(['.', ' ']).is_empty() => {
                    return Err(format!("component {c:?} of only dots and spaces"));
                }
                c => out.push(c),
            }
        }
        Ok(out)
    }

    /// Walks the path as the kernel does: each existing prefix is resolved through its links.
    fn resolve(&self, path: &str) -> Vec<String> {
        let mut cur = if path.starts_with('/') {
            PathBuf::from("/")
        } else {
            PathBuf::from(render(&self.roots[0]))
        };
        for c in path.split('/').filter(|c| !c.is_empty()) {
            match c {
                "." => {}
                ".." => {
                    cur.pop();
                }
                c => {
                    cur.push(c);
                    if std::fs::symlink_metadata(&cur).is_ok()
                        && let Ok(real) = std::fs::canonicalize(&cur)
                    {
                        cur = real;
                    }
                }
            }
        }
        cur.to_str()
            .map(|s| components(s).into_iter().map(str::to_owned).collect())
            .unwrap_or_default()
    }
}

fn percent_decode(s: &str) -> Result<String, String> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%'
            && i + 2 < b.len()
            && let (Some(h), Some(l)) = (hexval(b[i + 1]), hexval(b[i + 2]))
        {
            out.push(h << 4 | l);
            i += 3;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    String::from_utf8(out).map_err(|_| "percent-encoding that is not UTF-8".to_owned())
}

fn hexval(c: u8) -> Option<u8> {
    (c as char).to_digit(16).map(|d| d as u8)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn roots() -> Roots {
        Roots::new(&["/srv/data".into(), "/tmp/agent/".into()], false).unwrap()
    }

    #[test]
    fn paths_inside_the_roots_pass() {
        let r = roots();
        let norm = |p: &str| {
            r.check(p).unwrap();
            render(&r.lexical(p).unwrap())
        };
        assert_eq!(norm("/srv/data/reports/q3.csv"), "/srv/data/reports/q3.csv");
        assert_eq!(norm("reports/./q3.csv"), "/srv/data/reports/q3.csv");
        assert_eq!(norm("/srv/data/a/../b"), "/srv/data/b");
        assert_eq!(norm("/tmp/agent"), "/tmp/agent");
        assert_eq!(norm("/srv/data/100%25.txt"), "/srv/data/100%25.txt");
        assert_eq!(norm("/srv/data/caf\u{e9}.txt"), "/srv/data/caf\u{e9}.txt");
    }

    #[test]
    fn traversal_variants_are_refused() {
        let r = roots();
        for bad in [
            "/srv/data/../../etc/passwd",
            "../../etc/passwd",
            "/srv/data-evil/x",
            "/srv/data/..\\..\\etc\\passwd",
            "/srv/data/%2e%2e/%2e%2e/etc/passwd",
            "/srv/data/%252e%252e/%252e%252e/etc/passwd",
            "/srv/data/..%2f..%2fetc/passwd",
            "/srv/data/\u{ff0e}\u{ff0e}\u{ff0f}\u{ff0e}\u{ff0e}\u{ff0f}etc",
            "/srv/data/.. /secret",
            "/srv/data/.../x",
            "C:\\Windows\\system32",
            "\\\\server\\share\\x",
            "~/.ssh/id_rsa",
            "/srv/data/x\0.txt",
            "/etc/passwd",
            "/",
            "",
        ] {
            assert!(r.check(bad).is_err(), "{bad:?} passed");
        }
    }

    #[cfg(unix)]
    #[test]
    fn symlink_out_of_the_root_is_refused_when_following_links() {
        let base = std::env::temp_dir().join(format!("palisade-path-{}", std::process::id()));
        let root = base.join("root");
        std::fs::create_dir_all(root.join("sub")).unwrap();
        let outside = base.join("outside");
        std::fs::create_dir_all(&outside).unwrap();
        let link = root.join("link");
        let _ = std::fs::remove_file(&link);
        std::os::unix::fs::symlink(&outside, &link).unwrap();
        let root_s = root.to_str().unwrap().to_owned();
        let lexical = Roots::new(std::slice::from_ref(&root_s), false).unwrap();
        let follow = Roots::new(std::slice::from_ref(&root_s), true).unwrap();
        let via_link = format!("{root_s}/link/secret.txt");
        assert!(lexical.check(&via_link).is_ok());
        let e = follow.check(&via_link).unwrap_err();
        assert!(e.contains("symbolic link"), "{e}");
        // `link/..` is the parent of the link's target for the kernel, not the root.
        assert!(
            follow
                .check(&format!("{root_s}/link/../outside/x"))
                .is_err()
        );
        assert!(follow.check(&format!("{root_s}/sub/new-file.txt")).is_ok());
        std::fs::remove_dir_all(&base).unwrap();
    }
}
