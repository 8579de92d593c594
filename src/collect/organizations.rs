//! AWS Organizations: the member accounts a management (or delegated
//! administrator) account can reach, discovered afresh at every scan so
//! that a new account is audited from the day it joins.

use super::{AwsAccount, describe_error};
use crate::config::OrganizationConfig;
use crate::model::partition_for_region;

pub const IAM_ACTIONS: &[&str] = &["organizations:ListAccounts"];

/// A member account to scan and how to reach it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MemberAccount {
    pub id: String,
    /// The account's name in the organization.
    pub name: String,
    pub role_arn: String,
    pub external_id: Option<String>,
    pub session_name: Option<String>,
}

impl MemberAccount {
    /// Member `id`, reached through the organization's role.
    pub fn reached_by(
        id: &str,
        name: &str,
        organization: &OrganizationConfig,
        partition: &str,
    ) -> MemberAccount {
        MemberAccount {
            id: id.to_string(),
            name: name.to_string(),
            role_arn: format!("arn:{partition}:iam::{id}:role/{}", organization.role_name),
            external_id: organization.external_id.clone(),
            session_name: organization.session_name.clone(),
        }
    }
}

/// Every ACTIVE account of the organization except the management account
/// itself (scanned with its own credentials) and the excluded ones.
/// Suspended and closing accounts are skipped: their APIs refuse calls.
pub async fn member_accounts(
    management: &AwsAccount,
    organization: &OrganizationConfig,
    home_region: &str,
) -> Result<Vec<MemberAccount>, String> {
    let client = crate::counted_client!(
        aws_sdk_organizations,
        "organizations",
        &management.in_region(home_region)
    );
    let partition = partition_for_region(home_region);
    let mut members = Vec::new();
    let mut pages = client.list_accounts().into_paginator().send();
    while let Some(page) = pages.next().await {
        let page = page.map_err(|e| format!("ListAccounts: {}", describe_error(&e)))?;
        for account in page.accounts() {
            let Some(id) = account.id() else { continue };
            let active = account
                .status()
                .is_none_or(|s| *s == aws_sdk_organizations::types::AccountStatus::Active);
            if !active
                || id == management.account_id
                || organization.exclude.iter().any(|x| x == id)
            {
                continue;
            }
            members.push(MemberAccount::reached_by(
                id,
                account.name().unwrap_or(id),
                organization,
                partition,
            ));
        }
    }
    members.sort_by(|a, b| a.id.cmp(&b.id));
    Ok(members)
}
