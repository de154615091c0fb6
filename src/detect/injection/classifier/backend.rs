//! The ONNX backend of this process: tract (pure Rust, built in) or ONNX Runtime (a shared
//! library loaded at run time, feature `onnxruntime`).
//!
//! `ort` serves both through one global API table, so a process uses one backend: the first
//! classifier loaded chooses it, and a later request for the other is a construction error.

use std::path::PathBuf;
use std::sync::{Mutex, OnceLock};

use super::{Backend, ClassifierError};

struct Chosen {
    backend: Backend,
    env: ort::environment::Environment,
}

static CHOSEN: OnceLock<Chosen> = OnceLock::new();
static INIT: Mutex<()> = Mutex::new(());

/// The backend this process uses, once a classifier has been loaded.
pub fn active() -> Option<Backend> {
    CHOSEN.get().map(|c| c.backend)
}

/// Initializes `backend` for this process (once) and returns its environment.
pub(crate) fn environment(
    backend: Backend,
    library: Option<&PathBuf>,
) -> Result<ort::environment::Environment, ClassifierError> {
    if let Some(c) = CHOSEN.get() {
        return same(c, backend);
    }
    let _guard = INIT.lock().unwrap_or_else(|e| e.into_inner());
    if let Some(c) = CHOSEN.get() {
        return same(c, backend);
    }
    let env = match backend {
        Backend::Tract => {
            ort::set_api(ort_tract::api());
            ort::init()
                .with_name("palisade")
                .build()
                .map_err(|e| ClassifierError::Backend(format!("tract: {e}")))?
        }
        Backend::Onnxruntime => onnxruntime(library)?,
    };
    let _ = CHOSEN.set(Chosen {
        backend,
        env: env.clone(),
    });
    Ok(env)
}

fn same(c: &Chosen, backend: Backend) -> Result<ort::environment::Environment, ClassifierError> {
    if c.backend == backend {
        Ok(c.env.clone())
    } else {
        Err(ClassifierError::Backend(format!(
            "this process already runs classifiers on {}; one ONNX backend per process (asked for {})",
            c.backend.name(),
            backend.name()
        )))
    }
}

#[cfg(not(feature = "onnxruntime"))]
fn onnxruntime(_: Option<&PathBuf>) -> Result<ort::environment::Environment, ClassifierError> {
    Err(ClassifierError::Backend(
        "backend \"onnxruntime\" needs palisade built with the cargo feature `onnxruntime`".into(),
    ))
}

#[cfg(feature = "onnxruntime")]
fn onnxruntime(
    library: Option<&PathBuf>,
) -> Result<ort::environment::Environment, ClassifierError> {
    let path = match library {
        Some(p) => p.clone(),
        None => match std::env::var_os("ORT_DYLIB_PATH") {
            Some(p) if !p.is_empty() => PathBuf::from(p),
            _ => {
                return Err(ClassifierError::Backend(
                    "backend \"onnxruntime\": set `classifier.library` or ORT_DYLIB_PATH to the \
                     ONNX Runtime shared library (libonnxruntime.so.1.x, e.g. from the \
                     `onnxruntime` wheel on PyPI)"
                        .into(),
                ));
            }
        },
    };
    if !path.is_file() {
        return Err(ClassifierError::Backend(format!(
            "ONNX Runtime library {} does not exist",
            path.display()
        )));
    }
    // `init_from` opens the library, checks that its version is new enough for our API level,
    // and keeps it loaded for the life of the process.
    let builder = ort::init_from(&path)
        .map_err(|e| ClassifierError::Backend(format!("ONNX Runtime: {e}")))?;
    ort::set_api(ort_api_from(&path)?);
    builder
        .with_name("palisade")
        .build()
        .map_err(|e| ClassifierError::Backend(format!("ONNX Runtime: {e}")))
}

/// Reads the `OrtApi` table out of the ONNX Runtime library at `path`. `ort`'s own loader is
/// switched off when tract is built in too (`alternative-backend`), so this is done here: the one
/// place with unsafe code in palisade.
#[cfg(feature = "onnxruntime")]
#[allow(unsafe_code)]
fn ort_api_from(path: &std::path::Path) -> Result<ort::sys::OrtApi, ClassifierError> {
    type GetApiBase = unsafe extern "C" fn() -> *const ort::sys::OrtApiBase;
    // SAFETY: `path` was just opened by `ort::init_from`, which checked that it exports
    // `OrtGetApiBase` with a supported version; opening it again only raises its reference count
    // and runs no new initialisers. The handle is leaked on purpose, so the library (and every
    // function pointer copied out of it below) stays mapped for the life of the process.
    let lib = unsafe { libloading::Library::new(path) }
        .map_err(|e| ClassifierError::Backend(format!("ONNX Runtime: {e}")))?;
    let lib: &'static libloading::Library = Box::leak(Box::new(lib));
    // SAFETY: `OrtGetApiBase` has this signature in every ONNX Runtime release (C API, stable
    // ABI); the symbol's type is stated exactly.
    let get_base = unsafe { lib.get::<GetApiBase>(b"OrtGetApiBase\0") }
        .map_err(|e| ClassifierError::Backend(format!("ONNX Runtime: {e}")))?;
    // SAFETY: calling `OrtGetApiBase` has no preconditions; it returns a pointer to a static
    // struct inside the library, or null, which is checked.
    let base = unsafe { get_base() };
    if base.is_null() {
        return Err(ClassifierError::Backend(
            "ONNX Runtime: OrtGetApiBase returned null".into(),
        ));
    }
    // SAFETY: `base` is non-null and points to the library's static `OrtApiBase`; `GetApi` takes
    // an API version and returns a pointer to a static `OrtApi` of at least that version, or null
    // when the library is older, which is checked.
    let api = unsafe { ((*base).GetApi)(ort::sys::ORT_API_VERSION) };
    if api.is_null() {
        return Err(ClassifierError::Backend(format!(
            "ONNX Runtime at {} does not provide API version {}",
            path.display(),
            ort::sys::ORT_API_VERSION
        )));
    }
    // SAFETY: `api` is non-null, aligned and points to a fully initialised static `OrtApi`
    // (a table of function pointers) that lives as long as the leaked library handle.
    Ok(unsafe { std::ptr::read(api) })
}
