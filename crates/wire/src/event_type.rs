//! The Salesloft event types (`x-salesloft-event`, the envelope's `event_type` for provider
//! `salesloft`), as listed in Salesloft's webhook event-type reference: 37 types, named in
//! snake_case. A type this list does not know yet parses as [`SalesloftEvent::Other`], so a
//! consumer keeps working when Salesloft adds one.

use std::convert::Infallible;
use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

macro_rules! salesloft_events {
    ($( $(#[$doc:meta])* $variant:ident => $name:literal, )*) => {
        /// A Salesloft webhook event type. `FromStr`, `Display`, [`SalesloftEvent::as_str`]
        /// and serde all use the snake_case wire name and round-trip, `Other` included.
        #[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum SalesloftEvent {
            $( $(#[$doc])* $variant, )*
            /// A type not in this list (added by Salesloft after this crate was built).
            Other(String),
        }

        impl SalesloftEvent {
            /// Every known type, in the order of Salesloft's reference.
            pub const ALL: &'static [SalesloftEvent] = &[ $( SalesloftEvent::$variant, )* ];

            /// The wire name, e.g. `person_updated`.
            pub fn as_str(&self) -> &str {
                match self {
                    $( SalesloftEvent::$variant => $name, )*
                    SalesloftEvent::Other(name) => name,
                }
            }

            /// The type named `name`; [`SalesloftEvent::Other`] when it is not a known one.
            pub fn parse(name: &str) -> Self {
                match name {
                    $( $name => SalesloftEvent::$variant, )*
                    other => SalesloftEvent::Other(other.to_string()),
                }
            }
        }
    };
}

salesloft_events! {
    /// A new Account record was created in Salesloft.
    AccountCreated => "account_created",
    /// An existing Account record was updated.
    AccountUpdated => "account_updated",
    /// An Account record was deleted.
    AccountDeleted => "account_deleted",
    /// A new Cadence was created.
    CadenceCreated => "cadence_created",
    /// An existing Cadence was updated.
    CadenceUpdated => "cadence_updated",
    /// A Cadence was deleted.
    CadenceDeleted => "cadence_deleted",
    /// A Person was added to a Cadence (Cadence Membership created).
    CadenceMembershipCreated => "cadence_membership_created",
    /// A Cadence Membership was updated (state change, advance, etc.).
    CadenceMembershipUpdated => "cadence_membership_updated",
    /// A Call activity record was created.
    CallCreated => "call_created",
    /// A Call activity record was updated.
    CallUpdated => "call_updated",
    /// A Call Data Record (CDR) was created.
    CallDataRecordCreated => "call_data_record_created",
    /// A Call Data Record (CDR) was updated.
    CallDataRecordUpdated => "call_data_record_updated",
    /// A Conversation (Salesloft Conversations / recorded meeting) was created.
    ConversationCreated => "conversation_created",
    /// A recording was attached to a Conversation.
    ConversationRecordingCreated => "conversation_recording_created",
    /// A transcript was generated for a Conversation.
    ConversationTranscriptCreated => "conversation_transcript_created",
    /// An Email record state was updated (sent, delivered, bounced, etc.).
    EmailUpdated => "email_updated",
    /// An Email record state was updated; payload includes body and subject.
    EmailWithBodyAndSubjectUpdated => "email_with_body_and_subject_updated",
    /// A link contained in a Salesloft email was swapped (tracked link substitution).
    LinkSwap => "link_swap",
    /// A Meeting was booked.
    MeetingBooked => "meeting_booked",
    /// A Meeting record was updated.
    MeetingUpdated => "meeting_updated",
    /// A Note was created.
    NoteCreated => "note_created",
    /// A Note was updated.
    NoteUpdated => "note_updated",
    /// A Note was deleted.
    NoteDeleted => "note_deleted",
    /// A Person record was created.
    PersonCreated => "person_created",
    /// A Person record was updated.
    PersonUpdated => "person_updated",
    /// A Person record was deleted.
    PersonDeleted => "person_deleted",
    /// A Cadence Step was created.
    StepCreated => "step_created",
    /// A Cadence Step was updated.
    StepUpdated => "step_updated",
    /// A Cadence Step was deleted.
    StepDeleted => "step_deleted",
    /// A Task was created.
    TaskCreated => "task_created",
    /// A Task was updated.
    TaskUpdated => "task_updated",
    /// A Task was completed.
    TaskCompleted => "task_completed",
    /// A Task was deleted.
    TaskDeleted => "task_deleted",
    /// A Salesloft User was created.
    UserCreated => "user_created",
    /// A Salesloft User was updated.
    UserUpdated => "user_updated",
    /// A Success (closed-won / outcome) record was created.
    SuccessCreated => "success_created",
    /// A Bulk Job has completed processing.
    BulkJobCompleted => "bulk_job_completed",
}

impl SalesloftEvent {
    /// Whether this is one of the known types (not [`SalesloftEvent::Other`]).
    pub fn is_known(&self) -> bool {
        !matches!(self, SalesloftEvent::Other(_))
    }
}

impl FromStr for SalesloftEvent {
    type Err = Infallible;

    /// Never fails: unknown names become [`SalesloftEvent::Other`].
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(Self::parse(s))
    }
}

impl From<&str> for SalesloftEvent {
    fn from(s: &str) -> Self {
        Self::parse(s)
    }
}

impl fmt::Display for SalesloftEvent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for SalesloftEvent {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for SalesloftEvent {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let name = String::deserialize(deserializer)?;
        Ok(Self::parse(&name))
    }
}
