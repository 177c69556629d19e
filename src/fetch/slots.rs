//! Overpass API slot status: in goes the plain text of `/api/status` (`Rate limit: 2`,
//! `2 slots available now.`, `Slot available after: 2026-12-02T06:30:12Z, in 7 seconds.`) and
//! the current time; out comes a [`SlotStatus`] and the wait until a slot is free, which the
//! client uses instead of blind backoff after a 429 or 504.

use std::time::Duration;

use chrono::{DateTime, Utc};

/// What `/api/status` says about this client's slots.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SlotStatus {
    /// `Rate limit: N` (0 means no limit).
    pub rate_limit: Option<u32>,
    /// `N slots available now.`
    pub available_now: u32,
    /// The earliest `Slot available after: ...` line, as a wait from now.
    pub next_slot_in: Option<Duration>,
}

impl SlotStatus {
    /// How long to wait before the next query: none when a slot is free (or there is no
    /// limit), else until the earliest announced slot. `None` when the text announces neither.
    pub fn wait(&self) -> Option<Duration> {
        if self.available_now > 0 || self.rate_limit == Some(0) {
            return Some(Duration::ZERO);
        }
        self.next_slot_in
    }
}

/// Parses the status page; `None` when it holds no slot line (not an Overpass status page).
pub fn parse_status(text: &str, now: DateTime<Utc>) -> Option<SlotStatus> {
    let mut status = SlotStatus {
        rate_limit: None,
        available_now: 0,
        next_slot_in: None,
    };
    let mut seen = false;
    for line in text.lines().map(str::trim) {
        if let Some(rest) = line.strip_prefix("Rate limit:") {
            status.rate_limit = rest.trim().parse().ok();
            seen |= status.rate_limit.is_some();
        } else if let Some(n) = line
            .strip_suffix("slots available now.")
            .or_else(|| line.strip_suffix("slot available now."))
            .and_then(|n| n.trim().parse::<u32>().ok())
        {
            status.available_now = n;
            seen = true;
        } else if let Some(rest) = line.strip_prefix("Slot available after:") {
            let wait = slot_wait(rest, now);
            if let Some(w) = wait {
                status.next_slot_in = Some(status.next_slot_in.map_or(w, |c| c.min(w)));
                seen = true;
            }
        }
    }
    seen.then_some(status)
}

/// `2026-12-02T06:30:12Z, in 7 seconds.` → 7 s; the relative part is preferred (no clock
/// skew), the timestamp is the fallback. A slot in the past means no wait.
fn slot_wait(rest: &str, now: DateTime<Utc>) -> Option<Duration> {
    let (stamp, relative) = rest.split_once(',').unwrap_or((rest, ""));
    let seconds = relative
        .trim()
        .strip_prefix("in ")
        .and_then(|r| r.split_whitespace().next())
        .and_then(|n| n.parse::<i64>().ok());
    if let Some(s) = seconds {
        return Some(Duration::from_secs(s.max(0).unsigned_abs()));
    }
    let when = DateTime::parse_from_rfc3339(stamp.trim()).ok()?;
    Some(
        (when.with_timezone(&Utc) - now)
            .to_std()
            .unwrap_or(Duration::ZERO),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn now() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 12, 2, 6, 30, 5).unwrap()
    }

    #[test]
    fn reads_slots_available_now() {
        let text = "Connected as: 1234567890\nCurrent time: 2026-12-02T06:30:05Z\nAnnounced endpoint: none\nRate limit: 2\n2 slots available now.\nCurrently running queries (pid, space limit, time limit, start time):\n";
        let s = parse_status(text, now()).unwrap();
        assert_eq!(s.rate_limit, Some(2));
        assert_eq!(s.available_now, 2);
        assert_eq!(s.wait(), Some(Duration::ZERO));
    }

    #[test]
    fn takes_the_earliest_announced_slot() {
        let text = "Connected as: 1234567890\nCurrent time: 2026-12-02T06:30:05Z\nAnnounced endpoint: none\nRate limit: 2\nSlot available after: 2026-12-02T06:31:02Z, in 57 seconds.\nSlot available after: 2026-12-02T06:30:12Z, in 7 seconds.\nCurrently running queries (pid, space limit, time limit, start time):\n";
        let s = parse_status(text, now()).unwrap();
        assert_eq!(s.available_now, 0);
        assert_eq!(s.wait(), Some(Duration::from_secs(7)));
    }

    #[test]
    fn falls_back_to_the_timestamp_and_knows_no_limit() {
        let s = parse_status("Slot available after: 2026-12-02T06:30:35Z\n", now()).unwrap();
        assert_eq!(s.wait(), Some(Duration::from_secs(30)));
        let s = parse_status("Rate limit: 0\n", now()).unwrap();
        assert_eq!(s.wait(), Some(Duration::ZERO));
        assert!(parse_status("<html>busy</html>", now()).is_none());
    }
}
