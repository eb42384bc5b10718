#!/usr/bin/env python3
"""Writes the sample Lambda Function URL events under events/ and their manifest.

Run from anywhere (paths are relative to the repository root, found from this file):

    python3 tools/gen_events.py           # (re)write events/ and events/manifest.json
    python3 tools/gen_events.py --check   # exit 1 if any file differs from what would be written

Output, all deterministic (no randomness, no clock: fixed timestamps and ids; the signing
time of every timestamped sample is SIGNING_TIME = 1795442400 = 2026-11-23T14:00:00Z):

* events/salesloft/<event_type>.json - one signed delivery per Salesloft event type, each a
  Function URL request event (payload format 2.0) whose body is the bare resource JSON that
  Salesloft posts, signed like Salesloft does (lowercase hex HMAC-SHA1 of the raw body bytes).
* events/salesloft_timestamped/<event_type>.json - Salesloft's opt-in timestamped variant:
  hex HMAC-SHA256 of "{timestamp}.{body}" in x-salesloft-signature, the unix time in
  x-salesloft-timestamp (for a deployment with SALESLOFT_THIRD_PARTY_TIMESTAMPED=true).
* events/salesos/<type>.json - one delivery per SalesOS event type (lead.created, ...): a
  {"id": "evt_...", "type", "timestamp", "organizationId", "data"} body, signed with the hex
  HMAC-SHA256 of the raw body in x-webhook-signature; posted to /salesos.
* events/standard/<type>.json - Standard Webhooks deliveries (webhook-id, webhook-timestamp,
  webhook-signature "v1,<base64 HMAC-SHA256 of {id}.{timestamp}.{body}>"); posted to
  /standard.
* events/cases/<case>.json - rejections and special cases of every scheme (bad signatures,
  stale timestamps, missing fields, base64 bodies, wrong method or path, health check).
* events/manifest.json - every generated file, in a stable order (new samples are appended),
  as {"file", "expect_status", "description", "expect_error"?, "provider", "config", "now"?}:
  - expect_status: the HTTP status the function must answer;
  - expect_error: for a refusal, the "error" code its JSON response body must carry;
  - provider: "salesloft", "salesos" or "standard" (the sender the request claims to be),
    or null for requests that are about the path or method only (health, unknown path);
  - config: the deployment the sample is meant for: "default" (Salesloft HMAC-SHA1, SalesOS
    and Standard Webhooks all configured with the test secrets below), "salesloft_timestamped"
    (the same, but Salesloft uses the timestamped variant) or "salesloft_only" (only the
    Salesloft token: the other senders are not served and answered 404);
  - now: the unix seconds the test must use as the current time; present on every sample
    whose signature covers a timestamp (they are only valid within 300 s of SIGNING_TIME),
    absent on the others (which any clock accepts).

tests/it/events.rs feeds every sample through the crate's HTTP adapter under its config and
clock and checks that status. Stale *.json files in the folders this script writes
(events/salesloft/, events/salesloft_timestamped/, events/salesos/, events/standard/ and
events/cases/) are removed: those folders belong to this script.

The accepted samples of each sender come from one entry of SENDERS (folder, provider, path,
how to sign, event types and their body builders): adding a sender is adding an entry there.
The signatures themselves are computed by tools/signing.py, shared with the other tools.

Standard library only (Python 3.11).
"""

from __future__ import annotations

import base64
import hashlib
import json
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import signing  # tools/signing.py: the one implementation of every sender's signature

# A documented TEST-ONLY callback token. It is not a secret and is configured nowhere but in
# tests (tests/it/events.rs uses the same value); never use it for a real subscription.
TEST_TOKEN = "sl_test_callback_token_0123456789"

# The documented TEST-ONLY SalesOS webhook secret (the HMAC-SHA256 key, used as UTF-8 bytes).
SALESOS_SECRET = "so_test_secret_0123456789"

# The documented TEST-ONLY Standard Webhooks secret: "whsec_" followed by the base64 of the
# key bytes b"sw_test_secret_0123456789abcdef". Receivers sign with the DECODED bytes, not
# with this text. Written out so it can be copied into a configuration
# (STANDARD_WEBHOOKS_SECRETS); checked against the key bytes below.
STANDARD_SECRET = "whsec_c3dfdGVzdF9zZWNyZXRfMDEyMzQ1Njc4OWFiY2RlZg=="
STANDARD_KEY = b"sw_test_secret_0123456789abcdef"
if signing.standard_key(STANDARD_SECRET) != STANDARD_KEY:
    raise SystemExit("STANDARD_SECRET is not whsec_ + base64(STANDARD_KEY)")

# The timestamp every timestamped sample is signed with, and the "now" its manifest entry
# names: 2026-11-23T14:00:00Z in unix seconds (the fixed delivery time of every sample).
SIGNING_TIME = 1_795_442_400
# Replay window of the timestamped schemes, seconds either way (as configured in tests).
TOLERANCE_S = 300

# The 37 Salesloft webhook event types, in the order of Salesloft's published event-type
# reference. tests/it/events.rs checks that the samples match the wire crate's
# `SalesloftEvent` enum (crates/wire/src/event_type.rs) one to one.
EVENT_TYPES = [
    "account_created",
    "account_updated",
    "account_deleted",
    "cadence_created",
    "cadence_updated",
    "cadence_deleted",
    "cadence_membership_created",
    "cadence_membership_updated",
    "call_created",
    "call_updated",
    "call_data_record_created",
    "call_data_record_updated",
    "conversation_created",
    "conversation_recording_created",
    "conversation_transcript_created",
    "email_updated",
    "email_with_body_and_subject_updated",
    "link_swap",
    "meeting_booked",
    "meeting_updated",
    "note_created",
    "note_updated",
    "note_deleted",
    "person_created",
    "person_updated",
    "person_deleted",
    "step_created",
    "step_updated",
    "step_deleted",
    "task_created",
    "task_updated",
    "task_completed",
    "task_deleted",
    "user_created",
    "user_updated",
    "success_created",
    "bulk_job_completed",
]

# The 20 SalesOS webhook event types, in the order of the "Event Types" tables of SalesOS's
# published webhook reference. tests/it/events.rs checks the samples against
# tests/data/salesos_event_types.txt.
SALESOS_EVENT_TYPES = [
    "lead.created",
    "lead.updated",
    "lead.deleted",
    "lead.converted",
    "contact.created",
    "contact.updated",
    "account.created",
    "account.updated",
    "opportunity.created",
    "opportunity.updated",
    "opportunity.won",
    "opportunity.lost",
    "quote.created",
    "quote.approved",
    "quote.sent",
    "order.created",
    "order.completed",
    "meeting.scheduled",
    "meeting.completed",
    "task.completed",
]

# The Standard Webhooks samples: the spec fixes the envelope and the signature, not the
# event types, so these are a handful of typical ones.
STANDARD_EVENT_TYPES = [
    "contact.created",
    "contact.updated",
    "invoice.paid",
    "subscription.canceled",
    "order.fulfilled",
]

ROOT = Path(__file__).resolve().parent.parent
EVENTS_DIR = ROOT / "events"

API = "https://api.salesloft.com/v2"
MAX_BODY_BYTES = 2048

# The Function URL every sample is addressed to (an AWS documentation-style example host).
URL_ID = "abcdefghij"
DOMAIN = f"{URL_ID}.lambda-url.us-east-1.on.aws"
USER_AGENT = "Salesloft-Webhooks/1.0"
SOURCE_IP = "203.0.113.10"  # TEST-NET-3, RFC 5737
# 2026-11-23T14:00:00Z, the fixed delivery time of every sample.
TIME_EPOCH_MS = 1_795_442_400_000
TIME_TEXT = "23/Nov/2026:14:00:00 +0000"

# Resource timestamps: created a while before, updated shortly before the delivery.
CREATED = "2026-10-05T09:12:44.123456-04:00"
UPDATED = "2026-11-23T08:59:58.654321-05:00"
DAY = "2026-11-23"


# ---------------------------------------------------------------------------------------
# Resource bodies (shaped like the Salesloft REST API v2 resources)
# ---------------------------------------------------------------------------------------


def ref(collection: str, ident: int | None) -> dict | None:
    """A Salesloft association: {"_href": ".../v2/<collection>/<id>", "id": <id>}."""
    if ident is None:
        return None
    return {"_href": f"{API}/{collection}/{ident}", "id": ident}


def stamps(action: str) -> dict:
    """created_at/updated_at for a created, updated or deleted resource."""
    if action == "created":
        return {"created_at": UPDATED, "updated_at": UPDATED}
    return {"created_at": CREATED, "updated_at": UPDATED}


def account(action: str) -> dict:
    ident = {"created": 4_010_001, "updated": 4_010_002, "deleted": 4_010_003}[action]
    return {
        "id": ident,
        **stamps(action),
        "archived_at": UPDATED if action == "deleted" else None,
        "name": "Café Société GmbH" if action == "updated" else "Northwind Traders",
        "domain": "cafe-societe.example" if action == "updated" else "northwind.example",
        "conversational_name": "Café Société" if action == "updated" else "Northwind",
        "description": "Specialty coffee importer",
        "phone": "+1 555 0100",
        "website": "https://northwind.example",
        "linkedin_url": None,
        "street": "1 Market St",
        "city": "San Francisco",
        "state": "CA",
        "postal_code": "94105",
        "country": "US",
        "locale": "America/Los_Angeles",
        "industry": "Food & Beverages",
        "company_type": "Private",
        "founded": "1998",
        "revenue_range": "$10M-$50M",
        "size": "51-200",
        "crm_id": "0015e00000AbCdEAAA",
        "crm_url": "https://example.my.salesforce.com/0015e00000AbCdEAAA",
        "crm_object_type": "account",
        "owner_crm_id": "0055e000001XyZaAAB",
        "last_contacted_at": None,
        "last_contacted_type": None,
        "do_not_contact": False,
        "custom_fields": {"Segment": "Mid-Market"},
        "tags": ["coffee", "emea"] if action == "updated" else [],
        "counts": {"people": 12},
        "owner": ref("users", 1001),
        "creator": ref("users", 1001),
        "last_contacted_by": None,
        "last_contacted_person": None,
        "company_stage": ref("account_stages", 3),
        "account_tier": ref("account_tiers", 2),
    }


def cadence(action: str) -> dict:
    ident = {"created": 7_001, "updated": 7_002, "deleted": 7_003}[action]
    return {
        "id": ident,
        **stamps(action),
        "archived_at": UPDATED if action == "deleted" else None,
        "team_cadence": False,
        "shared": True,
        "remove_bounces_enabled": True,
        "remove_replies_enabled": True,
        "opt_out_link_included": True,
        "draft": action == "created",
        "cadence_framework_id": None,
        "cadence_function": "outbound",
        "name": "Q4 Outbound - Mid-Market",
        "tags": ["q4", "outbound"],
        "creator": ref("users", 1001),
        "owner": ref("users", 1001),
        "bridge_phone": None,
        "bridge_phone_extension": None,
        "cadence_priority": ref("cadence_priorities", 1),
        "counts": {
            "cadence_people": 0 if action == "created" else 148,
            "people_acted_on_count": 0 if action == "created" else 97,
            "target_daily_people": 25,
            "opportunities_created": 0 if action == "created" else 4,
            "meetings_booked": 0 if action == "created" else 9,
        },
        "latest_active_date": None if action == "created" else DAY,
    }


def cadence_membership(action: str) -> dict:
    ident = {"created": 55_000_001, "updated": 55_000_002}[action]
    return {
        "id": ident,
        "added_at": CREATED if action == "updated" else UPDATED,
        **stamps(action),
        "person_deleted": False,
        "currently_on_cadence": True,
        "current_state": "staged" if action == "created" else "active",
        "cadence": ref("cadences", 7_002),
        "person": ref("people", 2_000_002),
        "user": ref("users", 1001),
        "latest_action": None if action == "created" else ref("actions", 88_000_123),
        "counts": {
            "views": 0 if action == "created" else 3,
            "clicks": 0 if action == "created" else 1,
            "replies": 0,
            "calls": 0 if action == "created" else 1,
            "sent_emails": 0 if action == "created" else 2,
            "bounces": 0,
        },
    }


def call(action: str) -> dict:
    ident = {"created": 31_000_001, "updated": 31_000_002}[action]
    return {
        "id": ident,
        "to": "+15550100123",
        "duration": 0 if action == "created" else 312,
        "disposition": None if action == "created" else "Connected",
        "sentiment": None if action == "created" else "Interested",
        "recording": {"url": None, "status": "pending", "recording_status": "pending"}
        if action == "created"
        else {
            "url": "https://recordings.example/calls/31000002.mp3",
            "status": "completed",
            "recording_status": "completed",
        },
        **stamps(action),
        "user": ref("users", 1001),
        "action": ref("actions", 88_000_123),
        "called_person": ref("people", 2_000_002),
        "crm_activity": None if action == "created" else ref("crm_activities", 66_000_007),
        "note": None if action == "created" else ref("notes", 12_000_002),
        "cadence": ref("cadences", 7_002),
        "step": ref("steps", 9_002),
    }


def call_data_record(action: str) -> dict:
    ident = {"created": 32_000_001, "updated": 32_000_002}[action]
    return {
        "id": ident,
        **stamps(action),
        "duration": 0 if action == "created" else 312,
        "from": "+15550100999",
        "to": "+15550100123",
        "recording": {"url": None, "status": "pending"}
        if action == "created"
        else {"url": "https://recordings.example/cdr/32000002.mp3", "status": "completed"},
        "status": "initiated" if action == "created" else "completed",
        "direction": "outbound",
        "call_type": "call",
        "call_uuid": "6f1c2a8e-0b7d-4c55-9a51-3e8b2f0d4c11",
        "user": ref("users", 1001),
        "called_person": ref("people", 2_000_002),
        "call": ref("activities/calls", 31_000_002),
    }


def conversation(kind: str) -> dict:
    # Salesloft identifies conversations by UUID as well; the samples carry an integer "id"
    # (required of every sample body) and the UUID alongside.
    base = {
        "id": {"created": 41_000_001, "recording": 41_000_002, "transcript": 41_000_003}[kind],
        "uuid": "0d3f7b0e-5c41-4d8a-b7c2-9a1e6f2b3c4d",
        **stamps("created"),
        "title": "Discovery call - Northwind Traders",
        "platform": "zoom",
        "media_type": "video",
        "started_recording_at": 1795435200000,
        "duration": 1824000,
        "language_code": "en",
        "user_guid": "8a5f3e2c-1b4d-4f6a-9c8e-7d2b1a0f3e5c",
        "organization_id": 5001,
        "account_id": 4_010_002,
        "opportunity_id": None,
        "person_id": 2_000_002,
        "call_id": None,
        "meeting_id": 51_000_001,
    }
    if kind == "recording":
        base["recording"] = {
            "status": "available",
            "url": "https://recordings.example/conversations/41000002.mp4",
            "content_type": "video/mp4",
            "size_bytes": 734003200,
        }
    if kind == "transcript":
        base["transcript"] = {
            "status": "available",
            "language_code": "en",
            "_href": f"{API}/conversations/41000003/transcriptions",
            "sentence_count": 412,
        }
    return base


def email(with_body: bool) -> dict:
    body = {
        "id": 21_000_002 if with_body else 21_000_001,
        **stamps("updated"),
        "recipient_email_address": "jose.muller@northwind.example",
        "status": "sent",
        "bounced": False,
        "sent_at": "2026-11-23T08:59:40.000000-05:00",
        "click_tracking": True,
        "view_tracking": True,
        "personalization": "38.5",
        "counts": {
            "clicks": 1,
            "views": 2,
            "replies": 0,
            "unique_devices": 1,
            "unique_locations": 1,
            "attachments": 0,
        },
        "headers": {"cc": "", "bcc": ""},
        "action": ref("actions", 88_000_124),
        "user": ref("users", 1001),
        "recipient": ref("people", 2_000_002),
        "mailing": ref("mailings", 23_000_001),
        "cadence": ref("cadences", 7_002),
        "step": ref("steps", 9_001),
        "crm_activity": ref("crm_activities", 66_000_008),
        "email_template": ref("email_templates", 3_301),
    }
    if with_body:
        body["subject"] = "Quick question about Northwind's Q1 roasting plans"
        body["body"] = (
            "<p>Hi José,</p><p>Saw Northwind is expanding its roasting capacity in Q1. "
            "Would a 20-minute call next week be useful?</p><p>Best,<br>Ada</p>"
        )
    return body


def link_swap() -> dict:
    return {
        "id": 24_000_001,
        **stamps("created"),
        "original_url": "https://northwind.example/pricing",
        "swapped_url": "https://northwind.example/pricing?utm_source=salesloft",
        "link_type": "tracked",
        "email": ref("activities/emails", 21_000_001),
        "mailing": ref("mailings", 23_000_001),
        "person": ref("people", 2_000_002),
        "user": ref("users", 1001),
        "cadence": ref("cadences", 7_002),
        "step": ref("steps", 9_001),
    }


def meeting(action: str) -> dict:
    ident = {"booked": 51_000_001, "updated": 51_000_002}[action]
    return {
        "id": ident,
        "title": "Northwind <> Acme: intro",
        "start_time": "2026-11-30T16:00:00.000000Z",
        "end_time": "2026-11-30T16:30:00.000000Z",
        "calendar_id": "ada.lovelace@acme.example",
        "calendar_type": "gmail",
        "meeting_type": "Intro",
        "recipient_name": "José Müller",
        "recipient_email": "jose.muller@northwind.example",
        "location": "https://meet.example/abc-defg-hij",
        "description": "Intro call booked from the Q4 cadence.",
        "event_id": "7n3k2q9v0b1c4d5e6f7g8h9i0j",
        "account_id": "4010002",
        "task_id": None,
        **stamps("created" if action == "booked" else "updated"),
        "status": "booked" if action == "booked" else "rescheduled",
        "canceled_at": None,
        "strict_attendees": [{"email": "jose.muller@northwind.example", "name": "José Müller"}],
        "attendees": [
            {
                "email": "jose.muller@northwind.example",
                "name": "José Müller",
                "status": "accepted" if action == "updated" else "needsAction",
                "organizer": False,
            },
            {
                "email": "ada.lovelace@acme.example",
                "name": "Ada Lovelace",
                "status": "accepted",
                "organizer": True,
            },
        ],
        "person": ref("people", 2_000_002),
        "cadence": ref("cadences", 7_002),
        "step": ref("steps", 9_003),
        "booked_by_user": ref("users", 1001),
        "owned_by_user": ref("users", 1001),
        "event_source": "external",
        "no_show": False,
        "reschedule_status": None if action == "booked" else "rescheduled",
    }


def note(action: str) -> dict:
    ident = {"created": 12_000_001, "updated": 12_000_002, "deleted": 12_000_003}[action]
    return {
        "id": ident,
        "content": "Spoke with José: budget approved for Q1, wants a pilot in two sites.",
        **stamps(action),
        "associated_type": "person",
        "associated_with": ref("people", 2_000_002),
        "user": ref("users", 1001),
        "call": ref("activities/calls", 31_000_002),
    }


def person(action: str, ident: int | None = None) -> dict:
    default_id = {"created": 2_000_001, "updated": 2_000_002, "deleted": 2_000_003}[action]
    updated = action == "updated"
    return {
        "id": ident if ident is not None else default_id,
        **stamps(action),
        "last_contacted_at": UPDATED if updated else None,
        "last_replied_at": None,
        "first_name": "José" if updated else "Grace",
        "last_name": "Müller" if updated else "Hopper",
        "display_name": "José Müller" if updated else "Grace Hopper",
        "email_address": "jose.muller@northwind.example"
        if updated
        else "grace.hopper@northwind.example",
        "secondary_email_address": None,
        "personal_email_address": None,
        "phone": "+1 555 0100 123",
        "phone_extension": None,
        "mobile_phone": None,
        "linkedin_url": None,
        "title": "Head of Procurement",
        "city": "Zürich" if updated else "Arlington",
        "state": None if updated else "VA",
        "country": "CH" if updated else "US",
        "crm_url": None,
        "crm_id": "0035e00000QwErTAAA" if updated else None,
        "crm_object_type": "contact" if updated else None,
        "owner_crm_id": None,
        "person_company_name": "Café Société GmbH" if updated else "Northwind Traders",
        "person_company_website": "https://northwind.example",
        "person_company_industry": "Food & Beverages",
        "do_not_contact": False,
        "bouncing": False,
        "locale": "Europe/Zurich" if updated else "America/New_York",
        "eu_resident": updated,
        "job_seniority": "director",
        "custom_fields": {"Lead Source": "Webinar"},
        "tags": ["webinar-2026"],
        "contact_restrictions": [],
        "counts": {
            "emails_sent": 2 if updated else 0,
            "emails_viewed": 2 if updated else 0,
            "emails_clicked": 1 if updated else 0,
            "emails_replied_to": 0,
            "emails_bounced": 0,
            "calls": 1 if updated else 0,
        },
        "account": ref("accounts", 4_010_002 if updated else 4_010_001),
        "owner": ref("users", 1001),
        "last_contacted_by": ref("users", 1001) if updated else None,
        "import": ref("imports", 150) if action == "created" else None,
        "person_stage": ref("person_stages", 4),
        "most_recent_cadence": ref("cadences", 7_002) if updated else None,
    }


def step(action: str) -> dict:
    ident = {"created": 9_001, "updated": 9_002, "deleted": 9_003}[action]
    return {
        "id": ident,
        **stamps(action),
        "disabled": action == "deleted",
        "type": "email" if action == "created" else "phone",
        "name": "Intro email" if action == "created" else "Follow-up call",
        "display_name": "Day 1: Intro email" if action == "created" else "Day 3: Follow-up call",
        "day": 1 if action == "created" else 3,
        "step_number": 1 if action == "created" else 2,
        "multitouch_enabled": False,
        "details": ref("email_templates", 3_301)
        if action == "created"
        else ref("phone_call_details", 4_402),
        "cadence": ref("cadences", 7_002),
    }


def task(action: str) -> dict:
    ident = {"created": 61_000_001, "updated": 61_000_002, "completed": 61_000_003, "deleted": 61_000_004}[
        action
    ]
    done = action == "completed"
    return {
        "id": ident,
        **stamps("created" if action == "created" else "updated"),
        "user": ref("users", 1001),
        "person": ref("people", 2_000_002),
        "account": ref("accounts", 4_010_002),
        "subject": "Send the pilot proposal",
        "task_type": "email" if action != "updated" else "call",
        "current_state": "completed" if done else "scheduled",
        "due_date": "2026-11-25",
        "remind_at": None if done else "2026-11-25T09:00:00.000000-05:00",
        "description": "Two-site pilot, pricing as discussed.",
        "completed_at": UPDATED if done else None,
        "completed_by": ref("users", 1001) if done else None,
        "created_by_user": ref("users", 1002),
    }


def user(action: str) -> dict:
    ident = {"created": 1003, "updated": 1001}[action]
    name = ("Linus", "Torvalds") if action == "created" else ("Ada", "Lovelace")
    address = f"{name[0].lower()}.{name[1].lower()}@acme.example"
    return {
        "id": ident,
        "guid": "8a5f3e2c-1b4d-4f6a-9c8e-7d2b1a0f3e5c"
        if action == "updated"
        else "2c9d4e1f-7a3b-4c5d-8e6f-0a1b2c3d4e5f",
        **stamps(action),
        "name": f"{name[0]} {name[1]}",
        "first_name": name[0],
        "last_name": name[1],
        "job_role": "Account Executive",
        "active": True,
        "time_zone": "US/Eastern",
        "locale_utc_offset": -300,
        "slack_username": None,
        "twitter_handle": None,
        "email": address,
        "email_client_email_address": address,
        "sending_email_address": address,
        "from_address": address,
        "full_email_address": f"\"{name[0]} {name[1]}\" <{address}>",
        "bcc_email_address": None,
        "work_country": "US",
        "seat_package": "advanced",
        "email_signature": "",
        "email_signature_type": "html",
        "team_admin": action == "updated",
        "local_dial_enabled": True,
        "click_to_call_enabled": True,
        "email_client_configured": action == "updated",
        "crm_connected": action == "updated",
        "phone_client": ref("phone_clients", 77),
        "group": ref("groups", 12),
        "team": ref("team", 5001),
        "role": {"id": "Admin" if action == "updated" else "User"},
    }


def success() -> dict:
    return {
        "id": 71_000_001,
        **stamps("created"),
        "succeeded_at": UPDATED,
        "is_first_cadence_success": True,
        "success_window_started_at": CREATED,
        "counts": {"total_emails": 2, "total_calls": 1, "total_other_touches": 0},
        "user": ref("users", 1001),
        "person": ref("people", 2_000_002),
        "latest_email": ref("activities/emails", 21_000_001),
        "latest_call": ref("activities/calls", 31_000_002),
        "latest_action": ref("actions", 88_000_123),
        "latest_cadence": ref("cadences", 7_002),
        "latest_step": ref("steps", 9_002),
    }


def bulk_job() -> dict:
    return {
        "id": 81_000_001,
        "name": "Nightly person sync",
        "type": "person/update",
        "state": "done",
        **stamps("updated"),
        "marked_ready_at": "2026-11-23T09:00:00.000000-05:00",
        "started_at": "2026-11-23T09:00:02.000000-05:00",
        "finished_at": "2026-11-23T09:00:57.000000-05:00",
        "total": 250,
        "processed": 250,
        "success_count": 247,
        "error_count": 3,
        "scopes": ["people:write"],
    }


BUILDERS = {
    "account_created": lambda: account("created"),
    "account_updated": lambda: account("updated"),
    "account_deleted": lambda: account("deleted"),
    "cadence_created": lambda: cadence("created"),
    "cadence_updated": lambda: cadence("updated"),
    "cadence_deleted": lambda: cadence("deleted"),
    "cadence_membership_created": lambda: cadence_membership("created"),
    "cadence_membership_updated": lambda: cadence_membership("updated"),
    "call_created": lambda: call("created"),
    "call_updated": lambda: call("updated"),
    "call_data_record_created": lambda: call_data_record("created"),
    "call_data_record_updated": lambda: call_data_record("updated"),
    "conversation_created": lambda: conversation("created"),
    "conversation_recording_created": lambda: conversation("recording"),
    "conversation_transcript_created": lambda: conversation("transcript"),
    "email_updated": lambda: email(with_body=False),
    "email_with_body_and_subject_updated": lambda: email(with_body=True),
    "link_swap": link_swap,
    "meeting_booked": lambda: meeting("booked"),
    "meeting_updated": lambda: meeting("updated"),
    "note_created": lambda: note("created"),
    "note_updated": lambda: note("updated"),
    "note_deleted": lambda: note("deleted"),
    "person_created": lambda: person("created"),
    "person_updated": lambda: person("updated"),
    "person_deleted": lambda: person("deleted"),
    "step_created": lambda: step("created"),
    "step_updated": lambda: step("updated"),
    "step_deleted": lambda: step("deleted"),
    "task_created": lambda: task("created"),
    "task_updated": lambda: task("updated"),
    "task_completed": lambda: task("completed"),
    "task_deleted": lambda: task("deleted"),
    "user_created": lambda: user("created"),
    "user_updated": lambda: user("updated"),
    "success_created": success,
    "bulk_job_completed": bulk_job,
}


# ---------------------------------------------------------------------------------------
# SalesOS bodies: {"id": "evt_...", "type", "timestamp", "organizationId", "data"}
# ---------------------------------------------------------------------------------------

SALESOS_ORG = "org_5f2c9a7e31b4"
SO_TIME = "2026-11-23T14:00:00Z"  # the delivery time (SIGNING_TIME)
SO_CREATED = "2026-10-05T13:12:44Z"
SO_UPDATED = "2026-11-23T13:59:58Z"
SO_OWNER = "usr_2b7d41c9e0a3"

# One record per kind, so created/updated/... samples are about the same record.
SO_LEAD = "lead_8f3a2c71d9e4"
SO_CONTACT = "cont_41d7e9a2b6c3"
SO_ACCOUNT = "acct_9c2e5b7a1f04"
SO_OPPORTUNITY = "opp_3e8b1d6f2a95"
SO_QUOTE = "quot_7a4c9e2b5d18"
SO_ORDER = "ord_c5e1a8d3f7b2"
SO_MEETING = "mtg_2d9f6b4e8a13"
SO_TASK = "task_e7b3c1a9f502"


def so_stamps(action: str) -> dict:
    if action == "created":
        return {"createdAt": SO_UPDATED, "updatedAt": SO_UPDATED}
    return {"createdAt": SO_CREATED, "updatedAt": SO_UPDATED}


def so_lead(action: str) -> dict:
    status = {
        "created": "NEW",
        "updated": "CONTACTED",
        "deleted": "UNQUALIFIED",
        "converted": "CONVERTED",
    }[action]
    data = {
        "id": SO_LEAD,
        "firstName": "Jane",
        "lastName": "Smith",
        "email": "jane.smith@northwind.example",
        "phone": "+1 555 0100 200",
        "company": "Northwind Traders",
        "title": "VP Operations",
        "status": status,
        "source": "WEBINAR",
        "rating": "WARM" if action == "created" else "HOT",
        "score": 42 if action == "created" else 77,
        "ownerId": SO_OWNER,
        **so_stamps(action),
    }
    if action == "updated":
        data["changes"] = {
            "status": {"from": "NEW", "to": "CONTACTED"},
            "score": {"from": 42, "to": 77},
        }
    if action == "deleted":
        data["deletedAt"] = SO_UPDATED
        data["deletedBy"] = SO_OWNER
    if action == "converted":
        data["convertedAt"] = SO_UPDATED
        data["convertedContactId"] = SO_CONTACT
        data["convertedAccountId"] = SO_ACCOUNT
        data["convertedOpportunityId"] = SO_OPPORTUNITY
    return data


def so_contact(action: str) -> dict:
    updated = action == "updated"
    data = {
        "id": SO_CONTACT,
        "firstName": "Jane",
        "lastName": "Smith",
        "email": "jane.smith@northwind.example",
        "phone": "+1 555 0100 200",
        "mobile": "+1 555 0100 201" if updated else None,
        "title": "Chief Operating Officer" if updated else "VP Operations",
        "department": "Operations",
        "accountId": SO_ACCOUNT,
        "ownerId": SO_OWNER,
        "mailingAddress": {
            "street": "1 Market St",
            "city": "San Francisco",
            "state": "CA",
            "postalCode": "94105",
            "country": "US",
        },
        "doNotEmail": False,
        "tags": ["webinar-2026", "champion"] if updated else ["webinar-2026"],
        **so_stamps(action),
    }
    if updated:
        data["changes"] = {
            "title": {"from": "VP Operations", "to": "Chief Operating Officer"},
            "mobile": {"from": None, "to": "+1 555 0100 201"},
        }
    return data


def so_account(action: str) -> dict:
    updated = action == "updated"
    data = {
        "id": SO_ACCOUNT,
        "name": "Northwind Traders",
        "domain": "northwind.example",
        "industry": "Food & Beverages",
        "type": "CUSTOMER" if updated else "PROSPECT",
        "employees": 180,
        "annualRevenue": 42000000,
        "currency": "USD",
        "website": "https://northwind.example",
        "billingAddress": {"city": "San Francisco", "state": "CA", "country": "US"},
        "ownerId": SO_OWNER,
        **so_stamps(action),
    }
    if updated:
        data["changes"] = {"type": {"from": "PROSPECT", "to": "CUSTOMER"}}
    return data


def so_opportunity(action: str) -> dict:
    stage = {
        "created": "QUALIFICATION",
        "updated": "PROPOSAL",
        "won": "CLOSED_WON",
        "lost": "CLOSED_LOST",
    }[action]
    probability = {"created": 20, "updated": 60, "won": 100, "lost": 0}[action]
    data = {
        "id": SO_OPPORTUNITY,
        "name": "Northwind - two-site pilot",
        "accountId": SO_ACCOUNT,
        "contactId": SO_CONTACT,
        "stage": stage,
        "amount": 48500.00 if action != "created" else 36000.00,
        "currency": "USD",
        "probability": probability,
        "closeDate": "2026-12-15",
        "ownerId": SO_OWNER,
        **so_stamps(action),
    }
    if action == "updated":
        data["changes"] = {
            "stage": {"from": "QUALIFICATION", "to": "PROPOSAL"},
            "amount": {"from": 36000.00, "to": 48500.00},
        }
    if action == "won":
        data["closedAt"] = SO_UPDATED
        data["wonReason"] = "Best fit for multi-site roasting"
    if action == "lost":
        data["closedAt"] = SO_UPDATED
        data["lostReason"] = "BUDGET"
        data["lostReasonDetail"] = "Pilot postponed to next fiscal year"
        data["competitor"] = "Contoso Coffee Systems"
    return data


def so_quote(action: str) -> dict:
    status = {"created": "DRAFT", "approved": "APPROVED", "sent": "SENT"}[action]
    data = {
        "id": SO_QUOTE,
        "quoteNumber": "Q-2026-0417",
        "opportunityId": SO_OPPORTUNITY,
        "accountId": SO_ACCOUNT,
        "contactId": SO_CONTACT,
        "status": status,
        "currency": "USD",
        "lineItems": [
            {
                "sku": "ROAST-PILOT",
                "description": "Two-site roasting pilot",
                "quantity": 2,
                "unitPrice": 18000.00,
                "discountPercent": 5,
            },
            {
                "sku": "ONBOARD",
                "description": "Onboarding and training",
                "quantity": 1,
                "unitPrice": 14300.00,
                "discountPercent": 0,
            },
        ],
        "subtotal": 50300.00,
        "discount": 1800.00,
        "tax": 0.00,
        "total": 48500.00,
        "validUntil": "2026-12-23",
        "ownerId": SO_OWNER,
        **so_stamps(action),
    }
    if action == "approved":
        data["approvedAt"] = SO_UPDATED
        data["approvedBy"] = "usr_9a1c5e7b3d20"
    if action == "sent":
        data["sentAt"] = SO_UPDATED
        data["sentTo"] = ["jane.smith@northwind.example"]
    return data


def so_order(action: str) -> dict:
    data = {
        "id": SO_ORDER,
        "orderNumber": "SO-2026-1182",
        "quoteId": SO_QUOTE,
        "opportunityId": SO_OPPORTUNITY,
        "accountId": SO_ACCOUNT,
        "status": "PENDING" if action == "created" else "COMPLETED",
        "currency": "USD",
        "total": 48500.00,
        "items": 2,
        "ownerId": SO_OWNER,
        **so_stamps(action),
    }
    if action == "completed":
        data["completedAt"] = SO_UPDATED
        data["invoiceNumber"] = "INV-2026-3391"
    return data


def so_meeting(action: str) -> dict:
    data = {
        "id": SO_MEETING,
        "title": "Northwind <> Acme: pilot kickoff",
        "startTime": "2026-11-30T16:00:00Z" if action == "scheduled" else "2026-11-23T13:00:00Z",
        "endTime": "2026-11-30T16:30:00Z" if action == "scheduled" else "2026-11-23T13:45:00Z",
        "location": "https://meet.example/abc-defg-hij",
        "status": "SCHEDULED" if action == "scheduled" else "COMPLETED",
        "attendees": [
            {
                "email": "jane.smith@northwind.example",
                "name": "Jane Smith",
                "response": "ACCEPTED",
            },
            {
                "email": "ada.lovelace@acme.example",
                "name": "Ada Lovelace",
                "response": "ACCEPTED",
                "organizer": True,
            },
        ],
        "contactId": SO_CONTACT,
        "opportunityId": SO_OPPORTUNITY,
        "ownerId": SO_OWNER,
        **so_stamps("created" if action == "scheduled" else "updated"),
    }
    if action == "completed":
        data["outcome"] = "POSITIVE"
        data["notes"] = "Agreed on pilot sites: Zürich and Hamburg."
    return data


def so_task() -> dict:
    return {
        "id": SO_TASK,
        "subject": "Send the pilot proposal",
        "type": "EMAIL",
        "priority": "HIGH",
        "status": "COMPLETED",
        "dueDate": "2026-11-25",
        "completedAt": SO_UPDATED,
        "completedBy": SO_OWNER,
        "relatedTo": {"type": "OPPORTUNITY", "id": SO_OPPORTUNITY},
        "contactId": SO_CONTACT,
        "ownerId": SO_OWNER,
        **so_stamps("updated"),
    }


SALESOS_BUILDERS = {
    "lead.created": lambda: so_lead("created"),
    "lead.updated": lambda: so_lead("updated"),
    "lead.deleted": lambda: so_lead("deleted"),
    "lead.converted": lambda: so_lead("converted"),
    "contact.created": lambda: so_contact("created"),
    "contact.updated": lambda: so_contact("updated"),
    "account.created": lambda: so_account("created"),
    "account.updated": lambda: so_account("updated"),
    "opportunity.created": lambda: so_opportunity("created"),
    "opportunity.updated": lambda: so_opportunity("updated"),
    "opportunity.won": lambda: so_opportunity("won"),
    "opportunity.lost": lambda: so_opportunity("lost"),
    "quote.created": lambda: so_quote("created"),
    "quote.approved": lambda: so_quote("approved"),
    "quote.sent": lambda: so_quote("sent"),
    "order.created": lambda: so_order("created"),
    "order.completed": lambda: so_order("completed"),
    "meeting.scheduled": lambda: so_meeting("scheduled"),
    "meeting.completed": lambda: so_meeting("completed"),
    "task.completed": so_task,
}


def salesos_event_id(name: str) -> str:
    """A unique, fixed SalesOS event id for the sample called `name`."""
    return "evt_" + stable_hex("salesos-event:" + name, 20)


def salesos_payload(name: str, event_type: str, data: dict) -> dict:
    return {
        "id": salesos_event_id(name),
        "type": event_type,
        "timestamp": SO_TIME,
        "organizationId": SALESOS_ORG,
        "data": data,
    }


# ---------------------------------------------------------------------------------------
# Standard Webhooks bodies: {"type", "timestamp", "data"}
# ---------------------------------------------------------------------------------------


def sw_contact(action: str) -> dict:
    data = {
        "id": "cont_41d7e9a2b6c3",
        "email": "jane.smith@northwind.example",
        "firstName": "Jane",
        "lastName": "Smith",
        "company": "Northwind Traders",
        "title": "Chief Operating Officer" if action == "updated" else "VP Operations",
        "createdAt": SO_CREATED if action == "updated" else SO_UPDATED,
        "updatedAt": SO_UPDATED,
    }
    if action == "updated":
        data["previousAttributes"] = {"title": "VP Operations"}
    return data


def sw_invoice_paid() -> dict:
    return {
        "id": "inv_5b2e8c1a7d30",
        "number": "INV-2026-3391",
        "customerId": "cus_7f1d3b9e2c48",
        "status": "paid",
        "currency": "usd",
        "amountDue": 4850000,
        "amountPaid": 4850000,
        "lines": [
            {"description": "Two-site roasting pilot", "quantity": 2, "amount": 3420000},
            {"description": "Onboarding and training", "quantity": 1, "amount": 1430000},
        ],
        "periodStart": "2026-11-01T00:00:00Z",
        "periodEnd": "2026-11-30T23:59:59Z",
        "paidAt": SO_UPDATED,
    }


def sw_subscription_canceled() -> dict:
    return {
        "id": "sub_a3c9e1f7b524",
        "customerId": "cus_7f1d3b9e2c48",
        "plan": "team-annual",
        "status": "canceled",
        "quantity": 12,
        "cancelAtPeriodEnd": False,
        "canceledAt": SO_UPDATED,
        "cancellationReason": "switched_provider",
        "currentPeriodStart": "2026-01-01T00:00:00Z",
        "currentPeriodEnd": "2026-12-31T23:59:59Z",
    }


def sw_order_fulfilled() -> dict:
    return {
        "id": "ord_c5e1a8d3f7b2",
        "orderNumber": "SO-2026-1182",
        "customerId": "cus_7f1d3b9e2c48",
        "status": "fulfilled",
        "shipments": [
            {"carrier": "DHL", "trackingNumber": "JD014600006281230099", "items": 2},
        ],
        "fulfilledAt": SO_UPDATED,
    }


STANDARD_BUILDERS = {
    "contact.created": lambda: sw_contact("created"),
    "contact.updated": lambda: sw_contact("updated"),
    "invoice.paid": sw_invoice_paid,
    "subscription.canceled": sw_subscription_canceled,
    "order.fulfilled": sw_order_fulfilled,
}

BASE62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"


def standard_message_id(name: str) -> str:
    """A unique, fixed webhook-id for the sample called `name`: "msg_" and 27 base62
    characters, shaped like the KSUID-based ids Standard Webhooks senders use."""
    n = int.from_bytes(hashlib.sha256(("standard-msg:" + name).encode("utf-8")).digest(), "big")
    chars = []
    for _ in range(27):
        n, r = divmod(n, 62)
        chars.append(BASE62[r])
    return "msg_" + "".join(chars)


def standard_payload(event_type: str, data: dict) -> dict:
    return {"type": event_type, "timestamp": SO_TIME, "data": data}


# ---------------------------------------------------------------------------------------
# Signing and the Function URL event
# ---------------------------------------------------------------------------------------


def compact(resource: dict | list) -> bytes:
    """The exact bytes sent as the body (and signed)."""
    return json.dumps(resource, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


# The test keys bound to tools/signing.py (the samples are signed with these unless a case
# says otherwise).


def sign(body: bytes, token: str = TEST_TOKEN) -> str:
    """Salesloft: hex HMAC-SHA1 of the raw body."""
    return signing.salesloft(body, token)


def sign_timestamped(body: bytes, timestamp: int | str, token: str = TEST_TOKEN) -> str:
    """Salesloft's timestamped variant: hex HMAC-SHA256 of "{timestamp}.{body}"."""
    return signing.salesloft_timestamped(body, timestamp, token)


def sign_salesos(body: bytes, secret: str = SALESOS_SECRET) -> str:
    """SalesOS: hex HMAC-SHA256 of the raw body."""
    return signing.salesos(body, secret)


def standard_mac(msg_id: str, timestamp: int | str, body: bytes, key: bytes = STANDARD_KEY) -> str:
    """Standard Webhooks: one base64 signature, without its "v1," label."""
    return signing.standard_mac(msg_id, timestamp, body, key)


def sign_standard(msg_id: str, timestamp: int | str, body: bytes, key: bytes = STANDARD_KEY) -> str:
    """Standard Webhooks: a webhook-signature header with the one "v1,<base64>" entry."""
    return signing.standard(msg_id, timestamp, body, key)


def stable_hex(name: str, length: int) -> str:
    """Fixed pseudo-random hex derived from the sample's name (deterministic)."""
    return hashlib.sha256(name.encode("utf-8")).hexdigest()[:length]


def function_url_event(
    name: str,
    *,
    method: str = "POST",
    path: str = "/salesloft",
    body: bytes | None = None,
    base64_body: str | None = None,
    event_type: str | None = None,
    signature: str | None = None,
    extra_headers: dict[str, str] | None = None,
    user_agent: str = USER_AGENT,
) -> dict:
    """A Lambda Function URL request event (payload format 2.0).

    `body` is sent as text; `base64_body`, when given, is sent verbatim with
    isBase64Encoded = true (and `body`, if also given, is what it decodes to).
    `event_type` and `signature` are Salesloft's headers; `extra_headers` (a sender's
    signature headers, say) follow them.
    """
    h = stable_hex(name, 32)
    request_id = f"{h[0:8]}-{h[8:12]}-4{h[13:16]}-a{h[17:20]}-{h[20:32]}"
    trace = f"Root=1-{TIME_EPOCH_MS // 1000:08x}-{stable_hex('trace:' + name, 24)}"
    headers = {}
    if method == "POST":
        headers["content-type"] = "application/json"
        if body is not None:
            headers["content-length"] = str(len(body))
    headers["user-agent"] = user_agent
    headers["accept-encoding"] = "gzip"
    if event_type is not None:
        headers["x-salesloft-event"] = event_type
    if signature is not None:
        headers["x-salesloft-signature"] = signature
    headers.update(extra_headers or {})
    headers.update(
        {
            "host": DOMAIN,
            "x-amzn-tls-cipher-suite": "TLS_AES_128_GCM_SHA256",
            "x-amzn-tls-version": "TLSv1.3",
            "x-amzn-trace-id": trace,
            "x-forwarded-for": SOURCE_IP,
            "x-forwarded-port": "443",
            "x-forwarded-proto": "https",
        }
    )
    event: dict = {
        "version": "2.0",
        "routeKey": "$default",
        "rawPath": path,
        "rawQueryString": "",
        "headers": headers,
        "requestContext": {
            "accountId": "anonymous",
            "apiId": URL_ID,
            "domainName": DOMAIN,
            "domainPrefix": URL_ID,
            "http": {
                "method": method,
                "path": path,
                "protocol": "HTTP/1.1",
                "sourceIp": SOURCE_IP,
                "userAgent": user_agent,
            },
            "requestId": request_id,
            "routeKey": "$default",
            "stage": "$default",
            "time": TIME_TEXT,
            "timeEpoch": TIME_EPOCH_MS,
        },
    }
    if base64_body is not None:
        event["body"] = base64_body
        event["isBase64Encoded"] = True
    elif body is not None:
        event["body"] = body.decode("utf-8")
        event["isBase64Encoded"] = False
    else:
        event["isBase64Encoded"] = False
    return event


def signed_event(name: str, event_type: str, body: bytes, path: str = "/salesloft") -> dict:
    return function_url_event(
        name, path=path, body=body, event_type=event_type, signature=sign(body)
    )


def timestamped_event(
    name: str,
    event_type: str,
    body: bytes,
    *,
    timestamp: int | None = SIGNING_TIME,
    signature: str | None = None,
) -> dict:
    """A delivery of Salesloft's timestamped variant; signed at `timestamp` unless a
    `signature` is given; no x-salesloft-timestamp header when `timestamp` is None."""
    if signature is None:
        signature = sign_timestamped(body, SIGNING_TIME if timestamp is None else timestamp)
    extra = {} if timestamp is None else {"x-salesloft-timestamp": str(timestamp)}
    return function_url_event(
        name, body=body, event_type=event_type, signature=signature, extra_headers=extra
    )


SALESOS_USER_AGENT = "SalesOS-Webhooks/1.0"
STANDARD_USER_AGENT = "Standard-Webhooks-Sender/1.0"


def salesos_event(name: str, body: bytes, signature: str | None, path: str = "/salesos") -> dict:
    """A SalesOS delivery (x-webhook-signature; no header when `signature` is None)."""
    extra = {} if signature is None else {"x-webhook-signature": signature}
    return function_url_event(
        name, path=path, body=body, extra_headers=extra, user_agent=SALESOS_USER_AGENT
    )


def standard_event(
    name: str,
    body: bytes,
    *,
    msg_id: str | None,
    timestamp: int | None = SIGNING_TIME,
    signature: str | None,
) -> dict:
    """A Standard Webhooks delivery; a header given as None is left out."""
    extra = {}
    if msg_id is not None:
        extra["webhook-id"] = msg_id
    if timestamp is not None:
        extra["webhook-timestamp"] = str(timestamp)
    if signature is not None:
        extra["webhook-signature"] = signature
    return function_url_event(
        name, path="/standard", body=body, extra_headers=extra, user_agent=STANDARD_USER_AGENT
    )


# ---------------------------------------------------------------------------------------
# The sample set
# ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Sample:
    """One generated file and its manifest entry."""

    rel: str  # path relative to the repository root
    event: dict  # the Function URL request event
    status: int  # expect_status
    description: str
    error: str | None = None  # expect_error: the "error" code of a refusal
    provider: str | None = "salesloft"  # "salesloft" | "salesos" | "standard" | None
    config: str = "default"  # "default" | "salesloft_timestamped" | "salesloft_only"
    now: int | None = None  # unix seconds the test must use as the current time

    def manifest_entry(self) -> dict:
        entry: dict = {
            "file": self.rel,
            "expect_status": self.status,
            "description": self.description,
        }
        if self.error is not None:
            entry["expect_error"] = self.error
        entry["provider"] = self.provider
        entry["config"] = self.config
        if self.now is not None:
            entry["now"] = self.now
        return entry


CONFIGS = ("default", "salesloft_timestamped", "salesloft_only")


def check_types(name: str, types: list[str], builders: dict) -> None:
    missing = [t for t in types if t not in builders]
    extra = [t for t in builders if t not in types]
    if missing or extra or len(types) != len(set(types)):
        raise SystemExit(
            f"{name}: type list and builders disagree: missing={missing} extra={extra}"
        )


# ---------------------------------------------------------------------------------------
# The senders: one entry of SENDERS each
# ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Sender:
    """A signature scheme and its accepted samples: events/<folder>/<event type>.json, one per
    event type, whose body is `body(...)` of the type's builder, signed by `sign` and posted to
    `path`. Adding a sender is adding one entry to SENDERS (with its body builders, and its
    signature in tools/signing.py); its samples are appended to the manifest."""

    folder: str  # events/<folder>/; also the prefix of each sample's name
    provider: str  # the manifest's "provider"
    path: str  # the URL path the deliveries are posted to
    user_agent: str
    types: list[str]  # the event types, in order: one accepted sample each
    builders: dict[str, Callable[[], dict]]  # event type -> its data (exactly `types`)
    body: Callable[[str, str, dict], dict]  # (sample name, event type, data) -> the JSON body
    sign: Callable[[str, str, bytes], dict[str, str]]  # (name, event type, body) -> headers
    description: str  # the manifest's description; {event_type} is filled in
    config: str = "default"  # the manifest's "config"
    now: int | None = None  # SIGNING_TIME when the signature covers a timestamp


def salesloft_headers(name: str, event_type: str, body: bytes) -> dict[str, str]:
    return {"x-salesloft-event": event_type, "x-salesloft-signature": sign(body)}


def salesloft_timestamped_headers(name: str, event_type: str, body: bytes) -> dict[str, str]:
    return {
        "x-salesloft-event": event_type,
        "x-salesloft-signature": sign_timestamped(body, SIGNING_TIME),
        "x-salesloft-timestamp": str(SIGNING_TIME),
    }


def salesos_headers(name: str, event_type: str, body: bytes) -> dict[str, str]:
    return {"x-webhook-signature": sign_salesos(body)}


def standard_headers(name: str, event_type: str, body: bytes) -> dict[str, str]:
    msg_id = standard_message_id(name)
    return {
        "webhook-id": msg_id,
        "webhook-timestamp": str(SIGNING_TIME),
        "webhook-signature": sign_standard(msg_id, SIGNING_TIME, body),
    }


def bare(name: str, event_type: str, data: dict) -> dict:
    """The body is the resource itself (Salesloft)."""
    return data


# The Salesloft event types with a timestamped-variant sample.
TIMESTAMPED_EVENT_TYPES = ["person_updated", "task_completed"]

SENDERS = [
    Sender(
        folder="salesloft",
        provider="salesloft",
        path="/salesloft",
        user_agent=USER_AGENT,
        types=EVENT_TYPES,
        builders=BUILDERS,
        body=bare,
        sign=salesloft_headers,
        description="a validly signed {event_type} delivery is accepted",
    ),
    Sender(
        folder="salesos",
        provider="salesos",
        path="/salesos",
        user_agent=SALESOS_USER_AGENT,
        types=SALESOS_EVENT_TYPES,
        builders=SALESOS_BUILDERS,
        body=salesos_payload,
        sign=salesos_headers,
        description="a validly signed SalesOS {event_type} delivery is accepted",
    ),
    Sender(
        folder="standard",
        provider="standard",
        path="/standard",
        user_agent=STANDARD_USER_AGENT,
        types=STANDARD_EVENT_TYPES,
        builders=STANDARD_BUILDERS,
        body=lambda name, event_type, data: standard_payload(event_type, data),
        sign=standard_headers,
        description="a validly signed Standard Webhooks {event_type} delivery is accepted",
        now=SIGNING_TIME,
    ),
    Sender(
        folder="salesloft_timestamped",
        provider="salesloft",
        path="/salesloft",
        user_agent=USER_AGENT,
        types=TIMESTAMPED_EVENT_TYPES,
        builders={t: BUILDERS[t] for t in TIMESTAMPED_EVENT_TYPES},
        body=bare,
        sign=salesloft_timestamped_headers,
        description="a {event_type} delivery signed with the timestamped HMAC-SHA256 variant at"
        " the current time is accepted by a timestamped deployment",
        config="salesloft_timestamped",
        now=SIGNING_TIME,
    ),
]


def sender_samples(sender: Sender) -> list[Sample]:
    """One accepted sample per event type of `sender`."""
    check_types(sender.folder, sender.types, sender.builders)
    samples = []
    for event_type in sender.types:
        name = f"{sender.folder}/{event_type}"
        body = compact(sender.body(name, event_type, sender.builders[event_type]()))
        event = function_url_event(
            name,
            path=sender.path,
            body=body,
            extra_headers=sender.sign(name, event_type, body),
            user_agent=sender.user_agent,
        )
        samples.append(
            Sample(
                f"events/{name}.json",
                event,
                202,
                sender.description.format(event_type=event_type),
                provider=sender.provider,
                config=sender.config,
                now=sender.now,
            )
        )
    return samples


# The "error" code in the JSON body of each refused case's response (see src/http.rs).
ERRORS = {
    "bad_signature": "invalid_signature",
    "wrong_key_signature": "invalid_signature",
    "missing_signature": "invalid_signature",
    "truncated_signature": "invalid_signature",
    "non_hex_signature": "invalid_signature",
    "base64_invalid": "invalid_base64_body",
    "missing_event_header": "missing_event_type",
    "not_json_object": "body_not_json_object",
    "wrong_method": "method_not_allowed",
    "unknown_path": "not_found",
}


# Cases that are about the path or the method only, not about a sender: provider null.
NO_PROVIDER_CASES = {"wrong_method", "unknown_path", "health"}


def case_samples() -> list[Sample]:
    """The original Salesloft (and path/method) cases, in their original order."""
    cases = []

    def add(name: str, event: dict, status: int, description: str) -> None:
        provider = None if name in NO_PROVIDER_CASES else "salesloft"
        cases.append(
            Sample(
                f"events/cases/{name}.json",
                event,
                status,
                description,
                ERRORS.get(name),
                provider=provider,
            )
        )

    tampered = person("updated", ident=2_000_010)
    original = compact(tampered)
    tampered["title"] = "Chief Executive Officer"
    add(
        "bad_signature",
        function_url_event(
            "cases/bad_signature",
            body=compact(tampered),
            event_type="person_updated",
            signature=sign(original),
        ),
        401,
        "the signature is of a different body (the body was altered after signing)",
    )

    wrong_key_body = compact(person("updated", ident=2_000_011))
    add(
        "wrong_key_signature",
        function_url_event(
            "cases/wrong_key_signature",
            body=wrong_key_body,
            event_type="person_updated",
            signature=sign(wrong_key_body, token="sl_some_other_callback_token_9876"),
        ),
        401,
        "the signature was made with a different callback token",
    )

    missing_body = compact(person("updated", ident=2_000_012))
    add(
        "missing_signature",
        function_url_event(
            "cases/missing_signature", body=missing_body, event_type="person_updated"
        ),
        401,
        "no x-salesloft-signature header",
    )

    truncated_body = compact(person("updated", ident=2_000_013))
    add(
        "truncated_signature",
        function_url_event(
            "cases/truncated_signature",
            body=truncated_body,
            event_type="person_updated",
            signature=sign(truncated_body)[:38],
        ),
        401,
        "the signature is the right one cut to its first 38 hex characters",
    )

    non_hex_body = compact(person("updated", ident=2_000_014))
    non_hex = sign(non_hex_body).translate(str.maketrans("0123456789abcdef", "ghijklmnopqrstuv"))
    add(
        "non_hex_signature",
        function_url_event(
            "cases/non_hex_signature",
            body=non_hex_body,
            event_type="person_updated",
            signature=non_hex,
        ),
        401,
        "the signature is 40 characters that are not hex",
    )

    b64_body = compact(person("updated", ident=2_000_015))
    add(
        "base64_body",
        function_url_event(
            "cases/base64_body",
            body=b64_body,
            base64_body=base64.b64encode(b64_body).decode("ascii"),
            event_type="person_updated",
            signature=sign(b64_body),
        ),
        202,
        "a valid delivery whose body arrives base64-encoded (signed over the decoded bytes)",
    )

    add(
        "base64_invalid",
        function_url_event(
            "cases/base64_invalid",
            base64_body="%%%not-base64%%%",
            event_type="person_updated",
            signature=sign(b"%%%not-base64%%%"),
        ),
        400,
        "isBase64Encoded is true but the body is not base64",
    )

    no_type_body = compact(person("updated", ident=2_000_016))
    add(
        "missing_event_header",
        function_url_event(
            "cases/missing_event_header", body=no_type_body, signature=sign(no_type_body)
        ),
        400,
        "validly signed but without an x-salesloft-event header",
    )

    add(
        "not_json_object",
        signed_event("cases/not_json_object", "person_updated", b"[1,2,3]"),
        400,
        "validly signed body that is a JSON array, not an object",
    )

    add(
        "wrong_method",
        function_url_event("cases/wrong_method", method="GET", path="/salesloft"),
        405,
        "GET on the webhook path",
    )

    unknown_body = compact(person("updated", ident=2_000_017))
    add(
        "unknown_path",
        signed_event("cases/unknown_path", "person_updated", unknown_body, path="/nope"),
        404,
        "a validly signed delivery to a path the function does not serve",
    )

    add(
        "health",
        function_url_event("cases/health", method="GET", path="/health"),
        200,
        "the health check",
    )

    root_body = compact(person("created", ident=2_000_018))
    add(
        "root_path",
        signed_event("cases/root_path", "person_created", root_body, path="/"),
        202,
        "a valid delivery posted to / (the Function URL's root) is accepted",
    )

    return cases


def scheme_case_samples() -> list[Sample]:
    """Rejections (and the one multi-signature acceptance) of SalesOS, the timestamped
    Salesloft variant and Standard Webhooks; appended after the original cases."""
    cases: list[Sample] = []

    def add(name: str, event: dict, status: int, description: str, error: str | None, **kw):
        cases.append(Sample(f"events/cases/{name}.json", event, status, description, error, **kw))

    # ---- SalesOS (config default, no clock: the scheme signs no timestamp) ----

    def so_body(name: str, **drop: bool) -> bytes:
        payload = salesos_payload(name, "lead.updated", so_lead("updated"))
        for key in drop:
            del payload[key]
        return compact(payload)

    def so_case(name, body, signature, status, description, error, config="default"):
        event = salesos_event(f"cases/{name}", body, signature)
        add(name, event, status, description, error, provider="salesos", config=config)

    body = so_body("cases/salesos_wrong_key")
    so_case(
        "salesos_wrong_key",
        body,
        sign_salesos(body, secret="so_some_other_secret_9876543210"),
        401,
        "SalesOS: the HMAC-SHA256 was made with a different secret",
        "invalid_signature",
    )
    body = so_body("cases/salesos_truncated_signature")
    so_case(
        "salesos_truncated_signature",
        body,
        sign_salesos(body)[:40],
        401,
        "SalesOS: the right signature cut to its first 40 hex characters (a SHA-1's length)",
        "invalid_signature",
    )
    body = so_body("cases/salesos_base64_signature")
    so_case(
        "salesos_base64_signature",
        body,
        base64.b64encode(bytes.fromhex(sign_salesos(body))).decode("ascii"),
        401,
        "SalesOS: the right HMAC-SHA256 digest, but base64-encoded instead of hex",
        "invalid_signature",
    )
    body = so_body("cases/salesos_missing_type", type=True)
    so_case(
        "salesos_missing_type",
        body,
        sign_salesos(body),
        400,
        "SalesOS: validly signed, but the body has no \"type\"",
        "missing_event_type",
    )
    body = so_body("cases/salesos_missing_id", id=True)
    so_case(
        "salesos_missing_id",
        body,
        sign_salesos(body),
        400,
        "SalesOS: validly signed, but the body has no \"id\"",
        "missing_event_id",
    )
    body = so_body("cases/salesos_not_served")
    so_case(
        "salesos_not_served",
        body,
        sign_salesos(body),
        404,
        "SalesOS: a validly signed delivery to a deployment with no SalesOS secret"
        " (config salesloft_only) is not served",
        "not_found",
        config="salesloft_only",
    )

    # ---- Salesloft, timestamped variant (config salesloft_timestamped, now SIGNING_TIME) ----

    def ts_case(name, ident, description, **event_kw):
        body = compact(person("updated", ident=ident))
        add(
            name,
            timestamped_event(f"cases/{name}", "person_updated", body, **event_kw),
            401,
            description,
            "invalid_signature",
            config="salesloft_timestamped",
            now=SIGNING_TIME,
        )

    ts_case(
        "salesloft_timestamped_stale",
        2_000_020,
        f"timestamped Salesloft: correctly signed at now - 600 s (outside the {TOLERANCE_S} s"
        " window): a replay",
        timestamp=SIGNING_TIME - 600,
    )
    ts_case(
        "salesloft_timestamped_future",
        2_000_021,
        f"timestamped Salesloft: correctly signed at now + 600 s (outside the {TOLERANCE_S} s"
        " window)",
        timestamp=SIGNING_TIME + 600,
    )
    ts_case(
        "salesloft_timestamped_missing_timestamp",
        2_000_022,
        "timestamped Salesloft: signed at now, but without the x-salesloft-timestamp header",
        timestamp=None,
    )
    sha1_body = compact(person("updated", ident=2_000_023))
    add(
        "salesloft_timestamped_sha1_signature",
        timestamped_event(
            "cases/salesloft_timestamped_sha1_signature",
            "person_updated",
            sha1_body,
            signature=sign(sha1_body),
        ),
        401,
        "timestamped Salesloft: the plain HMAC-SHA1 signature (with a current timestamp) is"
        " refused once the deployment uses the timestamped variant",
        "invalid_signature",
        config="salesloft_timestamped",
        now=SIGNING_TIME,
    )

    # ---- Standard Webhooks (config default, now SIGNING_TIME) ----

    def sw_body(action: str = "updated") -> bytes:
        return compact(standard_payload(f"contact.{action}", sw_contact(action)))

    def sw_case(name, body, status, description, error, **event_kw):
        add(
            name,
            standard_event(f"cases/{name}", body, **event_kw),
            status,
            description,
            error,
            provider="standard",
            now=SIGNING_TIME,
        )

    name = "standard_wrong_key"
    body, msg_id = sw_body(), standard_message_id(f"cases/{name}")
    sw_case(
        name,
        body,
        401,
        "Standard Webhooks: signed with a different secret",
        "invalid_signature",
        msg_id=msg_id,
        signature=sign_standard(msg_id, SIGNING_TIME, body, key=b"sw_some_other_secret_9876543210"),
    )
    name = "standard_stale"
    body, msg_id = sw_body(), standard_message_id(f"cases/{name}")
    sw_case(
        name,
        body,
        401,
        f"Standard Webhooks: correctly signed at now - 600 s (outside the {TOLERANCE_S} s"
        " window): a replay",
        "invalid_signature",
        msg_id=msg_id,
        timestamp=SIGNING_TIME - 600,
        signature=sign_standard(msg_id, SIGNING_TIME - 600, body),
    )
    name = "standard_missing_id"
    body, msg_id = sw_body(), standard_message_id(f"cases/{name}")
    sw_case(
        name,
        body,
        401,
        "Standard Webhooks: correctly signed, but the webhook-id header is missing",
        "invalid_signature",
        msg_id=None,
        signature=sign_standard(msg_id, SIGNING_TIME, body),
    )
    name = "standard_non_v1_only"
    body, msg_id = sw_body(), standard_message_id(f"cases/{name}")
    # A v1a (asymmetric, ed25519) entry is 64 bytes; a receiver with a symmetric secret skips
    # it, so nothing is left to check.
    v1a = base64.b64encode(hashlib.sha512(b"not an ed25519 signature" + body).digest()).decode()
    sw_case(
        name,
        body,
        401,
        "Standard Webhooks: the signature header has only a v1a entry, no v1 one",
        "invalid_signature",
        msg_id=msg_id,
        signature=f"v1a,{v1a}",
    )
    name = "standard_multi_signature"
    body, msg_id = sw_body("created"), standard_message_id(f"cases/{name}")
    old_key = "v1," + standard_mac(
        msg_id, SIGNING_TIME, body, key=b"sw_previous_secret_before_rotation"
    )
    v1a = base64.b64encode(hashlib.sha512(b"not an ed25519 signature" + body).digest()).decode()
    sw_case(
        name,
        body,
        202,
        "Standard Webhooks: during a key rotation the header carries three entries (old key,"
        " a v1a entry, current key); the matching one is enough",
        None,
        msg_id=msg_id,
        signature=f"{old_key} v1a,{v1a} {sign_standard(msg_id, SIGNING_TIME, body)}",
    )
    name = "standard_missing_type"
    msg_id = standard_message_id(f"cases/{name}")
    body = compact({"timestamp": SO_TIME, "data": sw_contact("updated")})
    sw_case(
        name,
        body,
        400,
        "Standard Webhooks: validly signed, but the body has no \"type\"",
        "missing_event_type",
        msg_id=msg_id,
        signature=sign_standard(msg_id, SIGNING_TIME, body),
    )

    return cases


# ---------------------------------------------------------------------------------------
# Writing
# ---------------------------------------------------------------------------------------


def render(value: object) -> str:
    return json.dumps(value, indent=2, ensure_ascii=False) + "\n"


def body_bytes(event: dict) -> bytes:
    text = event.get("body")
    if text is None:
        return b""
    if event.get("isBase64Encoded"):
        try:
            return base64.b64decode(text, validate=True)
        except ValueError:
            return text.encode("utf-8")
    return text.encode("utf-8")


def all_samples() -> list[Sample]:
    """Every sample, in manifest order. Existing entries never move: the senders and case
    groups below in the order they were added, then any sender added to SENDERS since."""
    by_folder = {sender.folder: sender for sender in SENDERS}
    historical = ["salesloft", case_samples, "salesos", "standard", "salesloft_timestamped",
                  scheme_case_samples]
    samples: list[Sample] = []
    for group in historical:
        samples += sender_samples(by_folder[group]) if isinstance(group, str) else group()
    for sender in SENDERS:
        if sender.folder not in historical:
            samples += sender_samples(sender)
    return samples


def main(argv: list[str]) -> int:
    check = "--check" in argv[1:]
    unknown = [a for a in argv[1:] if a != "--check"]
    if unknown:
        print(f"usage: {argv[0]} [--check]", file=sys.stderr)
        return 2

    samples = all_samples()
    providers = {sender.provider for sender in SENDERS} | {None}
    files: dict[str, str] = {}
    manifest = []
    for sample in samples:
        rel, event = sample.rel, sample.event
        if rel in files:
            raise SystemExit(f"{rel}: generated twice")
        if sample.config not in CONFIGS or sample.provider not in providers:
            raise SystemExit(
                f"{rel}: unknown config {sample.config!r} or provider {sample.provider!r}"
            )
        size = len(body_bytes(event))
        if size > MAX_BODY_BYTES:
            raise SystemExit(f"{rel}: body is {size} bytes, over {MAX_BODY_BYTES}")
        files[rel] = render(event)
        manifest.append(sample.manifest_entry())
    files["events/manifest.json"] = render(manifest)

    owned = [EVENTS_DIR / folder for folder in [s.folder for s in SENDERS] + ["cases"]]
    stale = [
        p
        for d in owned
        if d.is_dir()
        for p in sorted(d.glob("*.json"))
        if p.relative_to(ROOT).as_posix() not in files
    ]

    changed = []
    for rel, text in files.items():
        path = ROOT / rel
        if not path.exists() or path.read_text(encoding="utf-8") != text:
            changed.append(rel)

    if check:
        for rel in changed:
            print(f"out of date: {rel}", file=sys.stderr)
        for p in stale:
            print(f"stale: {p.relative_to(ROOT).as_posix()}", file=sys.stderr)
        if changed or stale:
            print("events/ is out of date: run python3 tools/gen_events.py", file=sys.stderr)
            return 1
        print(f"events/ is up to date ({len(samples)} samples)")
        return 0

    for rel in changed:
        path = ROOT / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(files[rel], encoding="utf-8", newline="\n")
    for p in stale:
        p.unlink()

    accepted = sum(1 for sample in samples if sample.status == 202)
    folders: dict[str, int] = {}
    for sample in samples:
        folder = sample.rel.split("/")[1]
        folders[folder] = folders.get(folder, 0) + 1
    counts = ", ".join(f"{folder} {n}" for folder, n in folders.items())
    print(
        f"gen_events: {len(samples)} samples ({counts}; {accepted} expect 202) in events/; "
        f"{len(changed)} file(s) written, {len(stale)} stale removed"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
