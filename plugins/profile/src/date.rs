//! Dates of birth as shoppers type them.
//!
//! Two formats are accepted: ISO `YYYY-MM-DD` (what `<input type="date">`
//! sends) and the day-first `DD/MM/YYYY` used across Europe and Latin
//! America. The month-first US form `MM/DD/YYYY` is not accepted, because
//! `03/04/1990` would be ambiguous with the day-first one.

/// Parses a date of birth and returns it as `YYYY-MM-DD`, or `None` when
/// the text is in neither format or names no calendar date (such as
/// `1990-02-30`). Years from 1900 to 2100 pass. The plugin has no clock
/// under Footprint's default WASI grants, so a date in the future is not
/// rejected here.
pub fn parse_date_of_birth(text: &str) -> Option<String> {
    let text = text.trim();

    let (year, month, day) = if let Some((year, rest)) = text.split_once('-') {
        let (month, day) = rest.split_once('-')?;
        (parse_digits(year, 4)?, parse_digits(month, 2)?, parse_digits(day, 2)?)
    } else {
        let mut parts = text.split('/');
        let day = parse_digits(parts.next()?, 2)?;
        let month = parse_digits(parts.next()?, 2)?;
        let year = parse_digits(parts.next()?, 4)?;
        if parts.next().is_some() {
            return None;
        }
        (year, month, day)
    };

    if !(1900..=2100).contains(&year) || !(1..=12).contains(&month) || day == 0 || day > days_in_month(year, month) {
        return None;
    }
    Some(format!("{year:04}-{month:02}-{day:02}"))
}

/// Parses exactly `width` ASCII digits. A day or month of one digit
/// (`1/2/1990`) is accepted too, because shoppers often leave out the 0.
fn parse_digits(text: &str, width: usize) -> Option<u32> {
    let width_valid = text.len() == width || (width == 2 && text.len() == 1);
    if !width_valid || !text.bytes().all(|byte| byte.is_ascii_digit()) {
        return None;
    }
    text.parse().ok()
}

fn days_in_month(year: u32, month: u32) -> u32 {
    match month {
        2 if is_leap_year(year) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

fn is_leap_year(year: u32) -> bool {
    (year.is_multiple_of(4) && !year.is_multiple_of(100)) || year.is_multiple_of(400)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_iso_dates() {
        assert_eq!(parse_date_of_birth("1990-04-03").as_deref(), Some("1990-04-03"));
        assert_eq!(parse_date_of_birth(" 2000-02-29 ").as_deref(), Some("2000-02-29"));
    }

    #[test]
    fn normalises_day_first_dates() {
        assert_eq!(parse_date_of_birth("03/04/1990").as_deref(), Some("1990-04-03"));
        assert_eq!(parse_date_of_birth("3/4/1990").as_deref(), Some("1990-04-03"));
        assert_eq!(parse_date_of_birth("31/12/1999").as_deref(), Some("1999-12-31"));
    }

    #[test]
    fn rejects_impossible_calendar_dates() {
        for text in ["1990-02-30", "1900-02-29", "2023-02-29", "31/04/1990", "1990-13-01", "00/01/1990", "1990-00-10"] {
            assert_eq!(parse_date_of_birth(text), None, "date {text:?}");
        }
    }

    #[test]
    fn rejects_other_formats() {
        for text in [
            "",
            "1990",
            "04/1990",
            "1990/04/03",
            "90-04-03",
            "03.04.1990",
            "03/04/90",
            "1990-4-3x",
            "+990-04-03",
            "01/02/1990/5",
        ] {
            assert_eq!(parse_date_of_birth(text), None, "date {text:?}");
        }
    }

    #[test]
    fn rejects_years_out_of_range() {
        assert_eq!(parse_date_of_birth("1899-12-31"), None);
        assert_eq!(parse_date_of_birth("01/01/2101"), None);
    }
}
