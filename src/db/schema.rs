//! Diesel table definitions, written by hand to match `migrations/{sqlite,postgres}`.
//! Only types that both backends share appear here (no UUID, no timestamptz).

diesel::table! {
    orgs (id) {
        id -> Text,
        name -> Text,
        industry -> Text,
        size_band -> Text,
        region -> Text,
        reporting_currency -> Text,
        ledger_version -> BigInt,
        created_at -> Timestamp,
        fx_rate_required -> Bool,
    }
}

diesel::table! {
    server_secrets (name) {
        name -> Text,
        value -> Text,
    }
}

diesel::table! {
    tokens (id) {
        id -> Text,
        org_id -> Nullable<Text>,
        role -> Text,
        label -> Text,
        created_by -> Text,
        created_at -> Timestamp,
        expires_at -> Timestamp,
        revoked_at -> Nullable<Timestamp>,
        minted_by -> Nullable<Text>,
    }
}

diesel::table! {
    pilots (org_id, id) {
        org_id -> Text,
        id -> Text,
        name -> Text,
        business_function -> Text,
        sourcing -> Text,
        ai_kind -> Text,
        stage -> Text,
        stage_entered_on -> Date,
        evaluation_stage_on -> Nullable<Date>,
        started_on -> Nullable<Date>,
        evaluated_on -> Nullable<Date>,
        owner_team -> Nullable<Text>,
        tags -> Text,
        external_ref -> Nullable<Text>,
        stage_history -> Text,
        expected_benefit_minor -> Nullable<BigInt>,
        expected_benefit_currency -> Nullable<Text>,
        version -> BigInt,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    entries (org_id, id) {
        org_id -> Text,
        id -> Text,
        pilot_id -> Text,
        entry_type -> Text,
        category -> Text,
        period_start -> Date,
        period_end -> Date,
        amount_minor -> BigInt,
        currency -> Text,
        capex -> Nullable<Bool>,
        attribution_method -> Nullable<Text>,
        confidence -> Nullable<Double>,
        measured -> Nullable<Bool>,
        note -> Nullable<Text>,
        reverses -> Nullable<Text>,
        replaces -> Nullable<Text>,
        reason -> Nullable<Text>,
        created_by -> Text,
        created_at -> Timestamp,
    }
}

diesel::table! {
    fx_rates (currency, rate_date) {
        currency -> Text,
        rate_date -> Date,
        rate_to_usd -> Text,
        loaded_at -> Timestamp,
    }
}

diesel::table! {
    audit_events (org_id, id) {
        org_id -> Text,
        id -> Text,
        at -> Timestamp,
        actor -> Text,
        actor_role -> Text,
        action -> Text,
        object_type -> Text,
        object_id -> Text,
        before_json -> Nullable<Text>,
        after_json -> Nullable<Text>,
    }
}

diesel::table! {
    idempotency_keys (org_id, idem_key) {
        org_id -> Text,
        token_id -> Text,
        idem_key -> Text,
        request_hash -> Text,
        response_status -> Integer,
        response_body -> Text,
        created_at -> Timestamp,
    }
}

diesel::allow_tables_to_appear_in_same_query!(
    pilot_totals,
    pilot_rollups,
    orgs,
    tokens,
    pilots,
    pilot_versions,
    entries,
    fx_rates,
    audit_events,
    idempotency_keys
);

diesel::table! {
    pilot_totals (org_id, pilot_id, entry_type, currency) {
        org_id -> Text,
        pilot_id -> Text,
        entry_type -> Text,
        currency -> Text,
        total_minor -> BigInt,
        entries -> BigInt,
    }
}

diesel::table! {
    pilot_rollups (org_id, pilot_id) {
        org_id -> Text,
        pilot_id -> Text,
        evaluation_on -> Nullable<Date>,
        business_function -> Text,
        sourcing -> Text,
        ai_kind -> Text,
        spend_usd_minor -> Nullable<BigInt>,
        impact_3m_usd_minor -> Nullable<BigInt>,
        impact_6m_usd_minor -> Nullable<BigInt>,
        impact_12m_usd_minor -> Nullable<BigInt>,
        unconverted_entries -> BigInt,
        stage -> Text,
        reached_production -> Bool,
        expected_benefit_usd_minor -> Nullable<BigInt>,
        revenue_3m_usd_minor -> Nullable<BigInt>,
        revenue_6m_usd_minor -> Nullable<BigInt>,
        revenue_12m_usd_minor -> Nullable<BigInt>,
        cost_3m_usd_minor -> Nullable<BigInt>,
        cost_6m_usd_minor -> Nullable<BigInt>,
        cost_12m_usd_minor -> Nullable<BigInt>,
    }
}

diesel::table! {
    pilot_versions (org_id, pilot_id, version) {
        org_id -> Text,
        pilot_id -> Text,
        version -> BigInt,
        valid_from -> Timestamp,
        name -> Text,
        business_function -> Text,
        sourcing -> Text,
        ai_kind -> Text,
        stage -> Text,
        stage_entered_on -> Date,
        evaluation_stage_on -> Nullable<Date>,
        started_on -> Nullable<Date>,
        evaluated_on -> Nullable<Date>,
    }
}

diesel::table! {
    imported_files (org_id, sha256) {
        org_id -> Text,
        sha256 -> Text,
        file_name -> Text,
        row_count -> BigInt,
        imported_at -> Timestamp,
    }
}

diesel::table! {
    idp_bindings (claim, claim_value) {
        claim -> Text,
        claim_value -> Text,
        org_id -> Text,
        created_at -> Timestamp,
    }
}
// Budgets, alerts and webhooks (issue 24).
diesel::table! {
    budgets (org_id, id) {
        org_id -> Text,
        id -> Text,
        pilot_id -> Nullable<Text>,
        amount_minor -> BigInt,
        currency -> Text,
        period -> Text,
        created_by -> Text,
        created_at -> Timestamp,
    }
}

diesel::table! {
    alert_rules (org_id, id) {
        org_id -> Text,
        id -> Text,
        kind -> Text,
        threshold_pct -> Nullable<Integer>,
        months -> Nullable<Integer>,
        created_by -> Text,
        created_at -> Timestamp,
    }
}

diesel::table! {
    alerts (org_id, id) {
        org_id -> Text,
        id -> Text,
        rule_id -> Text,
        kind -> Text,
        subject -> Text,
        pilot_id -> Nullable<Text>,
        budget_id -> Nullable<Text>,
        period_key -> Nullable<Text>,
        fired_at -> Timestamp,
        cleared_at -> Nullable<Timestamp>,
        reason -> Text,
        details_json -> Text,
    }
}

diesel::table! {
    webhook_endpoints (org_id, id) {
        org_id -> Text,
        id -> Text,
        url -> Text,
        format -> Text,
        description -> Nullable<Text>,
        secret -> Text,
        previous_secret -> Nullable<Text>,
        previous_secret_until -> Nullable<Timestamp>,
        paused -> Bool,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    webhook_outbox (org_id, id) {
        org_id -> Text,
        id -> Text,
        endpoint_id -> Text,
        alert_id -> Text,
        payload -> Text,
        created_at -> Timestamp,
        attempts -> Integer,
        next_attempt_at -> Timestamp,
        delivered_at -> Nullable<Timestamp>,
        failed_at -> Nullable<Timestamp>,
        last_error -> Nullable<Text>,
    }
}

diesel::table! {
    webhook_attempts (org_id, id) {
        org_id -> Text,
        id -> Text,
        message_id -> Text,
        endpoint_id -> Text,
        attempted_at -> Timestamp,
        status -> Nullable<Integer>,
        error -> Nullable<Text>,
        duration_ms -> BigInt,
    }
}

diesel::table! {
    allocation_rules (org_id, id) {
        org_id -> Text,
        id -> Text,
        priority -> BigInt,
        rule_json -> Text,
        created_by -> Text,
        created_at -> Timestamp,
    }
}

diesel::table! {
    spend_imports (org_id, id) {
        org_id -> Text,
        id -> Text,
        kind -> Text,
        sha256 -> Text,
        row_count -> BigInt,
        report_json -> Text,
        created_by -> Text,
        imported_at -> Timestamp,
    }
}

diesel::table! {
    spend_source_entries (org_id, entry_id) {
        org_id -> Text,
        entry_id -> Text,
        source_key -> Text,
        import_id -> Text,
        pilot_id -> Text,
        month -> Date,
        service_category -> Text,
        currency -> Text,
        amount_minor -> BigInt,
    }
}

diesel::table! {
    spend_sources (org_id, source_key, currency) {
        org_id -> Text,
        source_key -> Text,
        currency -> Text,
        kind -> Text,
        provider -> Text,
        billing_account -> Text,
        billing_period -> Date,
        import_id -> Text,
        row_count -> BigInt,
        total_exact -> Text,
        total_minor -> BigInt,
        allocated_minor -> BigInt,
        unallocated_minor -> BigInt,
        unallocated_exact -> Text,
        unallocated_rows -> BigInt,
        unallocated_json -> Text,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    spend_source_settings (org_id) {
        org_id -> Text,
        cost_column -> Text,
    }
}

diesel::allow_tables_to_appear_in_same_query!(spend_source_entries, entries);
