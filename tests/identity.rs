//! Identification and merging on both stores: every case runs against the
//! embedded store and against a real Redis started for the test.

mod support;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use footprint::identity::{Identified, Identity, IdentityKey};
use footprint::recorder::Browser;
use footprint::store::{
    now_millis, Activity, ActivityKind, ActivityQuery, ContactId, IndexKind, MergeIntent, Source, Store, TrackerId,
};

on_both_stores!(
    registration_makes_anonymous_contact_registered,
    merge_moves_everything_into_registered_contact,
    replayed_login_changes_nothing,
    shared_browser_never_merges_registered_contacts,
    old_tracker_after_merge_lands_on_survivor,
    browsing_before_login_then_order_counts_once,
    email_case_and_spaces_match_one_contact,
    junk_identities_identify_nobody,
    interrupted_merge_completes_on_resume,
    unreturned_tracker_creates_no_contact,
    phone_and_customer_id_merge_like_email,
);

fn browser() -> Browser {
    Browser { tracker: TrackerId::new(), returned: true }
}

fn activity(kind: ActivityKind, properties: &[(&str, &str)]) -> Activity {
    Activity {
        at: now_millis(),
        kind,
        url: format!("/{kind}"),
        referrer: None,
        properties: properties.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect(),
    }
}

/// Records an activity the way the writer does for a returning browser.
async fn visit(store: &Arc<dyn Store>, identity: &Identity, browser: &Browser, activity: Activity) -> ContactId {
    let contact = identity.contact_for(browser, true, activity.at).await.expect("store").expect("confirmed browser");
    let source = Source::Tracker { tracker: browser.tracker, contact };
    store.append_activities(&[(source, activity)]).await.expect("append");
    contact
}

async fn login(identity: &Identity, browser: &Browser, email: &str) -> Identified {
    identity.identify(browser, email, activity(ActivityKind::Login, &[])).await.expect("identify")
}

async fn timeline(store: &Arc<dyn Store>, contact: ContactId) -> Vec<Activity> {
    let sources = store.sources(contact).await.expect("sources");
    let query = ActivityQuery { limit: 200, ..ActivityQuery::default() };
    let page = store.activities(&sources, &query).await.expect("activities");
    page.items.into_iter().map(|stored| stored.activity).collect()
}

async fn counters(store: &Arc<dyn Store>, contact: ContactId) -> BTreeMap<ActivityKind, u64> {
    let sources = store.sources(contact).await.expect("sources");
    store.counters(&sources).await.expect("counters")
}

fn kinds(activities: &[Activity]) -> Vec<ActivityKind> {
    activities.iter().map(|a| a.kind).collect()
}

async fn registration_makes_anonymous_contact_registered(store: Arc<dyn Store>) {
    let identity = Identity::new(store.clone());
    let browser = browser();
    let anonymous = visit(&store, &identity, &browser, activity(ActivityKind::PageVisit, &[])).await;

    let outcome = login(&identity, &browser, "New.Person@Example.com").await;

    assert_eq!(outcome, Identified::Registered(anonymous), "the anonymous contact itself becomes registered");
    let record = store.contact(anonymous).await.expect("store").expect("contact exists");
    assert_eq!(record.fields.get("email").map(String::as_str), Some("New.Person@Example.com"));
    assert_eq!(store.index_lookup(IndexKind::Email, "new.person@example.com").await.expect("store"), Some(anonymous));
    assert_eq!(kinds(&timeline(&store, anonymous).await), vec![ActivityKind::Login, ActivityKind::PageVisit]);
}

async fn merge_moves_everything_into_registered_contact(store: Arc<dyn Store>) {
    let identity = Identity::new(store.clone());
    let laptop = browser();
    visit(&store, &identity, &laptop, activity(ActivityKind::ProductVisit, &[("product_id", "sku-1")])).await;
    let Identified::Registered(registered) = login(&identity, &laptop, "ana@example.com").await else {
        panic!("first login registers");
    };
    let registered_fields = BTreeMap::from([("first_name".to_owned(), "Ana María".to_owned())]);
    store.set_fields(registered, &registered_fields, false, now_millis()).await.expect("store");

    let phone = browser();
    let early = activity(ActivityKind::ProductVisit, &[("product_id", "sku-2")]);
    let early_at = early.at;
    let anonymous = visit(&store, &identity, &phone, early).await;
    visit(&store, &identity, &phone, activity(ActivityKind::Search, &[("term", "shoes")])).await;
    let anonymous_fields =
        BTreeMap::from([("first_name".to_owned(), "Ana".to_owned()), ("city".to_owned(), "Madrid".to_owned())]);
    store.set_fields(anonymous, &anonymous_fields, false, now_millis()).await.expect("store");

    let outcome = login(&identity, &phone, " ANA@example.com").await;

    assert_eq!(outcome, Identified::Merged { from: anonymous, into: registered });
    let survivor = store.contact(registered).await.expect("store").expect("survivor exists");
    assert_eq!(survivor.fields["first_name"], "Ana María", "registered values win");
    assert_eq!(survivor.fields["city"], "Madrid", "empty fields are filled");
    assert_eq!(survivor.fields["email"], "ana@example.com", "the email stays as first typed");

    let resolved = identity.resolve(anonymous).await.expect("store").expect("resolves");
    assert_eq!(resolved.0, registered, "the anonymous id resolves to the survivor");
    assert_eq!(store.tracker_contact(phone.tracker).await.expect("store"), Some(registered));
    let trackers: BTreeSet<TrackerId> = store.contact_trackers(registered).await.expect("store").into_iter().collect();
    assert!(trackers.contains(&phone.tracker));
    assert!(trackers.contains(&laptop.tracker));
    assert_eq!(store.merged_contacts(registered).await.expect("store"), vec![anonymous]);

    let counted = counters(&store, registered).await;
    assert_eq!(counted.get(&ActivityKind::ProductVisit), Some(&2), "counters are combined");
    assert_eq!(counted.get(&ActivityKind::Search), Some(&1));
    assert_eq!(counted.get(&ActivityKind::Merge), Some(&1));

    let activities = timeline(&store, registered).await;
    let moved = activities
        .iter()
        .find(|a| a.properties.get("product_id").map(String::as_str) == Some("sku-2"))
        .expect("the anonymous product visit is on the survivor's timeline");
    assert_eq!(moved.at, early_at, "activities keep their original times");
    let merge = activities.iter().find(|a| a.kind == ActivityKind::Merge).expect("a merge activity");
    assert_eq!(merge.properties["merged_contact"], anonymous.to_string());
    assert!(store.pending_merges().await.expect("store").is_empty(), "the merge intent is finished");
}

async fn replayed_login_changes_nothing(store: Arc<dyn Store>) {
    let identity = Identity::new(store.clone());
    let laptop = browser();
    let Identified::Registered(registered) = login(&identity, &laptop, "ana@example.com").await else {
        panic!("first login registers");
    };
    let phone = browser();
    visit(&store, &identity, &phone, activity(ActivityKind::PageVisit, &[])).await;
    login(&identity, &phone, "ana@example.com").await;
    let fields_before = store.contact(registered).await.expect("store").expect("exists").fields;

    let outcome = login(&identity, &phone, "ana@example.com").await;

    assert_eq!(outcome, Identified::Unchanged(registered));
    assert_eq!(store.contact(registered).await.expect("store").expect("exists").fields, fields_before);
    assert_eq!(counters(&store, registered).await.get(&ActivityKind::Merge), Some(&1), "one merge only");
    assert_eq!(store.merged_contacts(registered).await.expect("store").len(), 1);
}

async fn shared_browser_never_merges_registered_contacts(store: Arc<dyn Store>) {
    let identity = Identity::new(store.clone());
    let shared = browser();
    visit(&store, &identity, &shared, activity(ActivityKind::PageVisit, &[])).await;
    let Identified::Registered(first) = login(&identity, &shared, "a@example.com").await else {
        panic!("A registers");
    };

    let Identified::Registered(second) = login(&identity, &shared, "b@example.com").await else {
        panic!("B is new: a new registered contact, not a merge");
    };
    assert_ne!(first, second);
    visit(&store, &identity, &shared, activity(ActivityKind::ProductVisit, &[("product_id", "sku-9")])).await;

    assert_eq!(store.tracker_contact(shared.tracker).await.expect("store"), Some(second));
    assert!(!store.contact_trackers(first).await.expect("store").contains(&shared.tracker));
    let first_kinds = kinds(&timeline(&store, first).await);
    let second_kinds = kinds(&timeline(&store, second).await);
    assert!(!first_kinds.contains(&ActivityKind::ProductVisit), "B's view is not on A: {first_kinds:?}");
    assert!(second_kinds.contains(&ActivityKind::ProductVisit));
    assert!(first_kinds.contains(&ActivityKind::PageVisit), "A keeps what it did before");
    assert!(!second_kinds.contains(&ActivityKind::PageVisit), "nothing of A moves to B");
    assert_eq!(store.contact(first).await.expect("store").expect("A exists").fields["email"], "a@example.com");

    let switched_back = login(&identity, &shared, "a@example.com").await;
    assert_eq!(switched_back, Identified::Switched(first), "logging in as A again switches, never merges");
    assert!(store.merged_contacts(first).await.expect("store").is_empty());
    assert!(store.merged_contacts(second).await.expect("store").is_empty());
}

async fn old_tracker_after_merge_lands_on_survivor(store: Arc<dyn Store>) {
    let identity = Identity::new(store.clone());
    let Identified::Registered(registered) = login(&identity, &browser(), "r@example.com").await else {
        panic!("R registers");
    };
    let old = browser();
    let anonymous = visit(&store, &identity, &old, activity(ActivityKind::PageVisit, &[])).await;
    login(&identity, &old, "r@example.com").await;
    let anonymous_sources = store.sources(anonymous).await.expect("store");

    // The browser keeps sending the old tracker; even a binding that still
    // names the merged contact (an interrupted re-pointing) resolves.
    store.bind_tracker(old.tracker, anonymous, Some(registered)).await.expect("store");
    let landed = visit(&store, &identity, &old, activity(ActivityKind::ProductVisit, &[("product_id", "x")])).await;

    assert_eq!(landed, registered);
    assert_eq!(store.tracker_contact(old.tracker).await.expect("store"), Some(registered));
    assert_eq!(store.sources(anonymous).await.expect("store"), anonymous_sources, "nothing new under X");
    assert_eq!(identity.resolve(anonymous).await.expect("store").expect("resolves").0, registered);
}

async fn browsing_before_login_then_order_counts_once(store: Arc<dyn Store>) {
    let identity = Identity::new(store.clone());
    let Identified::Registered(registered) = login(&identity, &browser(), "buyer@example.com").await else {
        panic!("registers");
    };
    let shopper = browser();
    visit(&store, &identity, &shopper, activity(ActivityKind::ProductVisit, &[("product_id", "1")])).await;
    visit(&store, &identity, &shopper, activity(ActivityKind::ProductVisit, &[("product_id", "2")])).await;
    visit(&store, &identity, &shopper, activity(ActivityKind::CartUpdate, &[("product_id", "2")])).await;

    // Activities stored in the same millisecond in different streams (here
    // the anonymous and the registered binding) have no defined order, so
    // the order comes a few milliseconds later, as a real one would.
    login(&identity, &shopper, "buyer@example.com").await;
    tokio::time::sleep(std::time::Duration::from_millis(3)).await;
    visit(&store, &identity, &shopper, activity(ActivityKind::Purchase, &[("order_id", "100042")])).await;

    let counted = counters(&store, registered).await;
    assert_eq!(counted.get(&ActivityKind::ProductVisit), Some(&2));
    assert_eq!(counted.get(&ActivityKind::CartUpdate), Some(&1));
    assert_eq!(counted.get(&ActivityKind::Purchase), Some(&1));
    let shopper_kinds: Vec<ActivityKind> = kinds(&timeline(&store, registered).await)
        .into_iter()
        .filter(|kind| !matches!(kind, ActivityKind::Login | ActivityKind::Merge))
        .collect();
    assert_eq!(
        shopper_kinds,
        vec![ActivityKind::Purchase, ActivityKind::CartUpdate, ActivityKind::ProductVisit, ActivityKind::ProductVisit],
        "newest first, nothing duplicated or orphaned"
    );
}

async fn email_case_and_spaces_match_one_contact(store: Arc<dyn Store>) {
    let identity = Identity::new(store.clone());
    let Identified::Registered(contact) = login(&identity, &browser(), "Ana.Garcia@Example.COM").await else {
        panic!("registers");
    };

    for variant in ["  ana.garcia@example.com ", "ANA.GARCIA@example.com"] {
        let outcome = login(&identity, &browser(), variant).await;
        assert_eq!(outcome.contact(), Some(contact), "{variant:?} finds the same contact");
    }
    assert_eq!(store.index_lookup(IndexKind::Email, "ana.garcia@example.com").await.expect("store"), Some(contact));
}

async fn junk_identities_identify_nobody(store: Arc<dyn Store>) {
    let identity = Identity::new(store.clone());
    let shopper = browser();
    let anonymous = visit(&store, &identity, &shopper, activity(ActivityKind::PageVisit, &[])).await;

    for junk in ["", "null", "undefined", "none", "0", "[object Object]", "ana@", "not an email"] {
        assert_eq!(login(&identity, &shopper, junk).await, Identified::Junk, "{junk:?}");
    }

    let record = store.contact(anonymous).await.expect("store").expect("exists");
    assert!(!record.is_registered());
    assert_eq!(store.tracker_contact(shopper.tracker).await.expect("store"), Some(anonymous));
    for junk in ["", "null", "undefined", "none", "0", "[object object]"] {
        assert_eq!(store.index_lookup(IndexKind::Email, junk).await.expect("store"), None);
    }
}

async fn interrupted_merge_completes_on_resume(store: Arc<dyn Store>) {
    let identity = Identity::new(store.clone());
    let Identified::Registered(registered) = login(&identity, &browser(), "r@example.com").await else {
        panic!("registers");
    };
    let shopper = browser();
    let anonymous = visit(&store, &identity, &shopper, activity(ActivityKind::ProductVisit, &[])).await;

    // A crash after the intent and the first step.
    let intent = MergeIntent { from: anonymous, into: registered };
    store.begin_merge(intent).await.expect("store");
    let sources = store.sources(anonymous).await.expect("store");
    store.add_sources(registered, &sources).await.expect("store");

    assert_eq!(identity.resume_pending_merges().await.expect("store"), 1);
    assert_eq!(identity.resume_pending_merges().await.expect("store"), 0, "finished once");

    assert_eq!(store.tracker_contact(shopper.tracker).await.expect("store"), Some(registered));
    assert_eq!(identity.resolve(anonymous).await.expect("store").expect("resolves").0, registered);
    let counted = counters(&store, registered).await;
    assert_eq!(counted.get(&ActivityKind::ProductVisit), Some(&1), "nothing lost, nothing doubled");
    assert_eq!(counted.get(&ActivityKind::Merge), Some(&1));
}

async fn unreturned_tracker_creates_no_contact(store: Arc<dyn Store>) {
    let identity = Identity::new(store.clone());
    let cookieless = Browser { tracker: TrackerId::new(), returned: false };

    let contact = identity.contact_for(&cookieless, false, now_millis()).await.expect("store");

    assert_eq!(contact, None);
    assert_eq!(store.tracker_contact(cookieless.tracker).await.expect("store"), None);
}

async fn identify_by(identity: &Identity, browser: &Browser, key: IdentityKey) -> Identified {
    let at = now_millis();
    identity
        .identify_by(browser, Some(key), at, Some(activity(ActivityKind::FormSubmission, &[])))
        .await
        .expect("identify")
}

async fn phone_and_customer_id_merge_like_email(store: Arc<dyn Store>) {
    let identity = Identity::new(store.clone());
    let keys = [
        IdentityKey {
            kind: IndexKind::Phone,
            key: "+34600000301".to_owned(),
            field: Some(("cellphone", "+34600000301".to_owned())),
        },
        IdentityKey { kind: IndexKind::CustomerId, key: "c-301".to_owned(), field: None },
    ];

    for key in keys {
        let first = browser();
        let owner = visit(&store, &identity, &first, activity(ActivityKind::PageVisit, &[])).await;
        assert_eq!(identify_by(&identity, &first, key.clone()).await, Identified::Registered(owner), "{key:?}");
        assert_eq!(store.index_lookup(key.kind, &key.key).await.expect("lookup"), Some(owner), "{key:?}");

        let second = browser();
        let anonymous = visit(&store, &identity, &second, activity(ActivityKind::ProductVisit, &[])).await;
        let merged = identify_by(&identity, &second, key.clone()).await;
        assert_eq!(merged, Identified::Merged { from: anonymous, into: owner }, "{key:?}");
        assert_eq!(store.tracker_contact(second.tracker).await.expect("binding"), Some(owner), "{key:?}");

        let record = store.contact(owner).await.expect("read").expect("owner exists");
        match &key.field {
            Some((name, value)) => assert_eq!(record.fields.get(*name), Some(value), "{key:?}"),
            None => assert!(!record.fields.values().any(|value| value == &key.key), "{key:?}: index only"),
        }
        let counted = counters(&store, owner).await;
        assert_eq!(counted.get(&ActivityKind::ProductVisit), Some(&1), "{key:?}: merged activity");
        assert_eq!(counted.get(&ActivityKind::FormSubmission), Some(&2), "{key:?}");
    }
}
