//! How many imports run at once: one per organisation and a few overall. An
//! import holds a 64 MB body, its parsed rows and, while it writes, the
//! single writer; more at once would multiply the memory and make every
//! other organisation's writes wait behind them. A request past either limit
//! answers 429 `import_busy` with `Retry-After` before its body is read.

use std::collections::HashSet;
use std::sync::Mutex;

use crate::domain::ids::OrgId;
use crate::error::{ApiError, ApiResult, Code};

/// The imports running now.
pub struct ImportSlots {
    running: Mutex<HashSet<OrgId>>,
    overall: usize,
}

/// One running import; its slot frees when dropped.
pub struct ImportSlot<'a> {
    slots: &'a ImportSlots,
    org: OrgId,
}

impl ImportSlots {
    /// At most `overall` imports at once (at least one), one per organisation.
    pub fn new(overall: usize) -> Self {
        Self {
            running: Mutex::new(HashSet::new()),
            overall: overall.max(1),
        }
    }

    fn running(&self) -> std::sync::MutexGuard<'_, HashSet<OrgId>> {
        // Every update is one set operation: a poisoned lock holds consistent data.
        self.running.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Takes a slot for `org`, or says why not.
    pub fn enter(&self, org: OrgId) -> ApiResult<ImportSlot<'_>> {
        let mut running = self.running();
        let busy = |detail: &str| Err(ApiError::new(Code::IMPORT_BUSY, detail).retry_after(5));
        if running.contains(&org) {
            return busy("this organisation already has an import running; send the next when it is answered");
        }
        if running.len() >= self.overall {
            return busy("the server is running as many imports as it takes at once; retry shortly");
        }
        running.insert(org);
        Ok(ImportSlot { slots: self, org })
    }
}

impl Drop for ImportSlot<'_> {
    fn drop(&mut self) {
        self.slots.running().remove(&self.org);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_import_per_organisation_and_a_cap_overall() {
        let slots = ImportSlots::new(2);
        let (a, b, c) = (OrgId::new(), OrgId::new(), OrgId::new());
        let first = slots.enter(a).unwrap();
        assert_eq!(slots.enter(a).err().unwrap().code.code, "import_busy");
        let second = slots.enter(b).unwrap();
        assert_eq!(
            slots.enter(c).err().unwrap().code.code,
            "import_busy",
            "two at most overall"
        );
        drop(first);
        let third = slots.enter(c).unwrap();
        assert!(slots.enter(a).is_err());
        drop((second, third));
        assert!(slots.enter(a).is_ok());
    }
}
