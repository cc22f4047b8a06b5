//! The domain's one error type: a value that failed a rule, named by its field.

/// A rule of the domain was broken. The message names the field and is fit to show a user.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DomainError {
    /// A field's value is not acceptable.
    #[error("{field}: {message}")]
    Invalid {
        /// The field, as a user would name it (e.g. "first name").
        field: &'static str,
        /// What is wrong, in plain words.
        message: String,
    },
}

impl DomainError {
    /// Shorthand for [`DomainError::Invalid`].
    pub fn invalid(field: &'static str, message: impl Into<String>) -> Self {
        Self::Invalid {
            field,
            message: message.into(),
        }
    }
}
