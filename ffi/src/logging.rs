//! The library's log, for the app's own log view: the core's records (sync, refused operations,
//! retries, photos) handed to a listener the app registers, at the level it asks for. Nothing
//! is kept here; with no listener nothing is formatted.

use std::sync::{Arc, Once, RwLock};

/// How much the app wants to hear.
#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Enum)]
pub enum LogLevel {
    Error,
    Warn,
    Info,
    Debug,
    Trace,
}

impl LogLevel {
    fn filter(self) -> log::LevelFilter {
        match self {
            LogLevel::Error => log::LevelFilter::Error,
            LogLevel::Warn => log::LevelFilter::Warn,
            LogLevel::Info => log::LevelFilter::Info,
            LogLevel::Debug => log::LevelFilter::Debug,
            LogLevel::Trace => log::LevelFilter::Trace,
        }
    }

    fn of(level: log::Level) -> LogLevel {
        match level {
            log::Level::Error => LogLevel::Error,
            log::Level::Warn => LogLevel::Warn,
            log::Level::Info => LogLevel::Info,
            log::Level::Debug => LogLevel::Debug,
            log::Level::Trace => LogLevel::Trace,
        }
    }
}

/// Receives the library's log lines (on whichever thread logged: a sync runs on the app's
/// background thread). `target` is the Rust module (`xuncha_core::sync::client`).
#[uniffi::export(with_foreign)]
pub trait LogListener: Send + Sync {
    fn on_log(&self, level: LogLevel, target: String, message: String);
}

static LISTENER: RwLock<Option<Arc<dyn LogListener>>> = RwLock::new(None);
static INSTALL: Once = Once::new();

struct Forward;

static FORWARD: Forward = Forward;

impl log::Log for Forward {
    fn enabled(&self, metadata: &log::Metadata<'_>) -> bool {
        metadata.level() <= log::max_level()
    }

    fn log(&self, record: &log::Record<'_>) {
        if !self.enabled(record.metadata()) {
            return;
        }
        // Cloned out of the lock: the listener may call back into the library, which may log.
        let listener = LISTENER.read().ok().and_then(|l| l.clone());
        if let Some(l) = listener {
            l.on_log(
                LogLevel::of(record.level()),
                record.target().to_string(),
                record.args().to_string(),
            );
        }
    }

    fn flush(&self) {}
}

/// Send the library's log lines at `level` and above to `listener` (none: stop). Calling it
/// again replaces the listener and the level.
#[uniffi::export]
pub fn set_log_listener(listener: Option<Arc<dyn LogListener>>, level: LogLevel) {
    INSTALL.call_once(|| {
        // Another logger already installed in this process (a host app's) keeps its place.
        let _ = log::set_logger(&FORWARD);
    });
    let on = listener.is_some();
    if let Ok(mut l) = LISTENER.write() {
        *l = listener;
    }
    log::set_max_level(if on {
        level.filter()
    } else {
        log::LevelFilter::Off
    });
}
