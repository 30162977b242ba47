//! Parsers for the numeric arguments: a number that is not finite, or outside what the
//! argument can mean, is an argument error (exit 2, JSON under `--json`) before anything runs.

/// `text` as a finite number within `min..=max`.
fn within(text: &str, min: f64, max: f64) -> Result<f64, String> {
    let value: f64 = text
        .trim()
        .parse()
        .map_err(|_| format!("`{text}` is not a number"))?;
    if !value.is_finite() {
        return Err(format!("`{text}` is not a finite number"));
    }
    if !(min..=max).contains(&value) {
        return Err(format!("{value} is outside {min}..={max}"));
    }
    Ok(value)
}

/// A run's deadline in seconds: more than nothing, at most a day.
pub(crate) fn deadline(text: &str) -> Result<f64, String> {
    within(text, 0.001, 86_400.0)
}

/// A backoff in seconds: at least a second (a floor whatever the arguments say), at most a
/// week.
pub(crate) fn backoff(text: &str) -> Result<f64, String> {
    within(text, 1.0, 7.0 * 86_400.0)
}

/// The longest a POST may take, in seconds: a second to an hour.
pub(crate) fn post_timeout(text: &str) -> Result<f64, String> {
    within(text, 1.0, 3_600.0)
}

/// The wait before "not found" is confirmed, in seconds: a tenth of a second to an hour.
pub(crate) fn confirm_wait(text: &str) -> Result<f64, String> {
    within(text, 0.1, 3_600.0)
}

/// A latitude in degrees.
pub(crate) fn latitude(text: &str) -> Result<f64, String> {
    within(text, -90.0, 90.0)
}

/// A longitude in degrees.
pub(crate) fn longitude(text: &str) -> Result<f64, String> {
    within(text, -180.0, 180.0)
}

/// An accuracy in metres (a fix worse than 100 km locates nothing).
pub(crate) fn accuracy(text: &str) -> Result<f64, String> {
    within(text, 0.0, 100_000.0)
}

/// A search radius in metres.
pub(crate) fn radius(text: &str) -> Result<f64, String> {
    within(text, 1.0, 100_000.0)
}

/// `LAT,LONG`, each finite and in range (kept as text for the command that reads it).
pub(crate) fn position(text: &str) -> Result<String, String> {
    let Some((lat, long)) = text.split_once(',') else {
        return Err(format!("`{text}` is not LAT,LONG"));
    };
    latitude(lat)?;
    longitude(long)?;
    Ok(text.to_string())
}

/// `SOUTH,WEST,NORTH,EAST`, each finite and in range, south of north (kept as text).
pub(crate) fn bbox(text: &str) -> Result<String, String> {
    let edges: Vec<&str> = text.split(',').collect();
    let [south, west, north, east] = edges[..] else {
        return Err(format!("`{text}` is not SOUTH,WEST,NORTH,EAST"));
    };
    let (south, north) = (latitude(south)?, latitude(north)?);
    longitude(west)?;
    longitude(east)?;
    if south > north {
        return Err(format!("south {south} is north of north {north}"));
    }
    Ok(text.to_string())
}
