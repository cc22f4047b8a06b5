//! The password rule: at least 12 characters, not a common or guessable password.

use crate::DomainError;

/// The shortest password accepted.
pub const MIN_LENGTH: usize = 12;
/// The longest password accepted (hashing a huge input is a denial-of-service risk).
pub const MAX_LENGTH: usize = 256;

/// A password that passed [`check_new_password`]. Deliberately not `Display`.
#[derive(Clone, PartialEq, Eq)]
pub struct NewPassword(String);

impl std::fmt::Debug for NewPassword {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("NewPassword(***)")
    }
}

impl NewPassword {
    /// The secret, for hashing.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

/// Check a new password for `username`: length 12–256, and not on zxcvbn's lists of
/// common passwords, names and keyboard patterns (score 3 of 4 or better), nor built on the
/// username or the extra words given (school name and the like).
pub fn check_new_password(
    password: &str,
    username: &str,
    extra_words: &[&str],
) -> Result<NewPassword, DomainError> {
    let len = password.chars().count();
    if len < MIN_LENGTH {
        return Err(DomainError::invalid(
            "password",
            format!("must be at least {MIN_LENGTH} characters (this one has {len})"),
        ));
    }
    if len > MAX_LENGTH {
        return Err(DomainError::invalid(
            "password",
            format!("must be at most {MAX_LENGTH} characters"),
        ));
    }
    let mut inputs: Vec<&str> = vec![username, "gatehouse", "school", "password"];
    inputs.extend_from_slice(extra_words);
    let estimate = zxcvbn::zxcvbn(password, &inputs);
    if (estimate.score() as u8) < 3 {
        let hint = estimate
            .feedback()
            .and_then(|f| f.warning().map(|w| w.to_string()))
            .unwrap_or_else(|| "it is too easy to guess".to_owned());
        return Err(DomainError::invalid(
            "password",
            format!("is too common or easy to guess: {hint}. Try three or four unrelated words"),
        ));
    }
    Ok(NewPassword(password.to_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_passwords_are_refused_with_their_length() {
        let err = check_new_password("abc", "ann", &[]).unwrap_err();
        assert!(err.to_string().contains("at least 12"), "{err}");
    }

    #[test]
    fn common_long_passwords_are_refused() {
        for p in [
            "password1234",
            "123456789012",
            "qwertyuiopasdf",
            "ann.smith2024",
            "iloveyou1234",
        ] {
            assert!(check_new_password(p, "ann.smith", &[]).is_err(), "{p}");
        }
        assert!(check_new_password("elmbrookschool1", "x", &["elmbrook"]).is_err());
    }

    #[test]
    fn a_passphrase_is_accepted() {
        assert!(check_new_password("copper kettle margin lantern", "ann", &[]).is_ok());
    }
}
