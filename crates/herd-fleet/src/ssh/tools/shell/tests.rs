//! Tests of what `shell` over SSH adds to the agent's result shaping:
//! reading a killing signal from the exit status.

use super::*;

#[test]
fn statuses_past_128_are_read_as_signals() {
    assert_eq!(signal(137), Some(9));
    assert_eq!(signal(129), Some(1));
    assert_eq!(signal(159), Some(31));
    for plain in [0, 1, 3, 128, 160, 255, -1] {
        assert_eq!(signal(plain), None, "{plain}");
    }
}
