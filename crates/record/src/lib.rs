//! `rct-record`: the trial record as events (pure: no I/O, no clock).
//!
//! Every change to a trial is an [`Event`]; the state is a fold over events
//! ([`TrialState::apply`]); each event carries the SHA-256 of the previous one,
//! so any edit of history is detectable ([`verify_chain`]).
//!
//! # Writing: commands
//! Every write is a [`Command`] by an [`Actor`] checked against the state:
//! [`TrialState::check`] returns the [`EventDraft`]s to seal and append, or a
//! [`CommandError`] saying what is wrong and what to do. It is pure (the time
//! is a parameter), randomisation included, so a store that loses an append
//! race re-runs it against the new state. [`Action::roles`] is the permission
//! table; see [`command`] for the rules on top of it.
//!
//! # Reading: views
//! Edges show users [`TrialState::view`] and [`TrialState::view_event`] only,
//! never an [`Event`], a [`TrialState`] or a [`Participant`] as such (they
//! carry arms and password hashes): a randomise command's own event holds the
//! arm, so its result is shown through the view. See [`view`] for what each
//! role sees.
//!
//! # Canonical encoding (what the hash covers)
//! An event's hash is the lower-case hex SHA-256 of its *canonical body*
//! (chain format 2): the event as a JSON object with every field except
//! `hash` (`actor`, `at`, `payload`, `prev_hash`, `reason`, `role`, `seq`,
//! `site`, `trial`) plus `"v": 2`, each concealed value replaced by a salted
//! commitment ([`seal`]), written in the JSON Canonicalization Scheme of
//! RFC 8785 ([`canonical`]): members sorted by their keys' UTF-16 code
//! units, no whitespace, minimal string escaping, numbers as ECMAScript
//! writes them; `at` as RFC 3339 UTC with a `Z` suffix; `payload` is an
//! object tagged by `type` (snake_case); `prev_hash` of the first event is
//! 64 zeros.
//!
//! Stores keep the canonical body text, the hash and the openings beside
//! them; verification re-hashes the stored text, checks that it is
//! canonical, that sequence numbers run 1, 2, 3... without gaps, that every
//! `prev_hash` names the event before and that every opening matches its
//! commitment. Records written before commitments (format 1: values in
//! plain, no `"v"`) are verified and re-sealed by [`legacy`].
//!
//! # Signed checkpoints
//! The chain cannot show that its last events were removed, that a
//! correctly linked event was appended by someone else, or that it was
//! recomputed from an edit onward; a [`Checkpoint`] (an Ed25519 signature
//! over trial, head sequence number, head hash and time, see [`checkpoint`]
//! for the exact text) can, and [`audit_checkpoints`] checks a stored chain
//! against them.

pub mod canonical;
pub mod chain;
pub mod chain_public;
pub mod checkpoint;
pub mod command;
pub mod design;
pub mod event;
mod fast_body;
pub mod governance;
pub mod legacy;
pub mod registration;
pub mod seal;
mod sealing;
pub use sealing::seal_drafts;
pub mod state;
pub mod view;

pub use chain::{verify_chain, BreakKind, ChainBreak, ChainSummary, StoredEvent};
pub use chain_public::{entry_body, verify_public};
pub use checkpoint::{
    audit_checkpoint_hashes, audit_checkpoints, checkpoint_seqs, Checkpoint, CheckpointAudit,
    CheckpointError, Finding, FindingKind, PublishedHead,
};
pub use command::duties::{check_user_name, MAX_USER_NAME};
pub use command::{
    check_data, check_participant_id, evaluate_screening, strata_of, Action, Actor, Command,
    CommandError, MAX_PARTICIPANT_ID,
};
pub use design::{DesignError, TrialDesign};
/// The Ed25519 implementation checkpoints are signed with (for the edges
/// that hold the key).
pub use ed25519_dalek;
pub use event::{
    sha256_hex, stratum_key, Arm, CriterionResult, Event, EventDraft, FormRule, Payload, Role,
    Sites, Verdict, GENESIS_HASH,
};
pub use seal::TrialSecrets;
pub use state::{
    item_key, Allocation, ApplyError, Participant, Query, QueryStatus, Screening, Session,
    TrialConfig, TrialState, UnblindedGrant, Unblinding, UserAccount,
};
pub use view::{
    view_event, ArmView, Flow, ParticipantView, QueryView, RandomisationView, RoleGrant, SiteView,
    TrialView, UserView, WithdrawalView,
};
