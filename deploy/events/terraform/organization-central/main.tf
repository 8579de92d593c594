# driftwatch change events for an organization, central part: apply once,
# in the account and region driftwatch runs in. Members forward their
# CloudTrail write events (../organization-member) to the bus this makes;
# a rule on it feeds the SQS queue driftwatch long-polls. Each event keeps
# its recipientAccountId, the member it came from. The same resources as
# ../../cloudformation/organization-central.yaml.

terraform {
  required_providers {
    aws = { source = "hashicorp/aws", version = ">= 5.0" }
  }
}

variable "queue_name" {
  type    = string
  default = "driftwatch-change-events"
}

variable "organization_id" {
  type        = string
  description = "o-xxxxxxxxxx: the organization whose accounts may forward events"
}

variable "consumer_role_arn" {
  type        = string
  description = "The role driftwatch runs as: allowed to receive and delete messages."
}

resource "aws_cloudwatch_event_bus" "central" {
  name = var.queue_name
}

resource "aws_cloudwatch_event_bus_policy" "organization_may_put" {
  event_bus_name = aws_cloudwatch_event_bus.central.name
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Sid       = "OrganizationMembersForward"
      Effect    = "Allow"
      Principal = "*"
      Action    = "events:PutEvents"
      Resource  = aws_cloudwatch_event_bus.central.arn
      # The forwarding roles ../organization-member creates, not any
      # principal of the organization.
      Condition = {
        StringEquals = { "aws:PrincipalOrgID" = var.organization_id }
        ArnLike      = { "aws:PrincipalArn" = "arn:*:iam::*:role/driftwatch/*" }
      }
    }]
  })
}

resource "aws_sqs_queue" "dead_letter" {
  name                      = "${var.queue_name}-dlq"
  message_retention_seconds = 1209600
  sqs_managed_sse_enabled   = true
}

resource "aws_sqs_queue" "events" {
  name = var.queue_name
  # Longer than driftwatch takes to describe, record and commit what one
  # event changed; ten days' retention, below the dead-letter queue's 14
  # (a moved message keeps its first enqueue time).
  visibility_timeout_seconds = 120
  message_retention_seconds  = 864000
  receive_wait_time_seconds  = 20
  sqs_managed_sse_enabled    = true
  redrive_policy = jsonencode({
    deadLetterTargetArn = aws_sqs_queue.dead_letter.arn
    maxReceiveCount     = 5
  })
}

resource "aws_cloudwatch_event_rule" "change_events" {
  name           = var.queue_name
  event_bus_name = aws_cloudwatch_event_bus.central.name
  description    = "The organization's CloudTrail write events of the services driftwatch collects"
  event_pattern = file("${path.module}/../../event-pattern.json")
}

resource "aws_cloudwatch_event_target" "queue" {
  rule           = aws_cloudwatch_event_rule.change_events.name
  event_bus_name = aws_cloudwatch_event_bus.central.name
  target_id      = "driftwatch-queue"
  arn            = aws_sqs_queue.events.arn
  retry_policy {
    maximum_event_age_in_seconds = 86400
    maximum_retry_attempts       = 185
  }
  dead_letter_config {
    arn = aws_sqs_queue.dead_letter.arn
  }
  # EventBridge does not retry a permission error: the queues must admit
  # the rule before it sends.
  depends_on = [aws_sqs_queue_policy.events]
}

resource "aws_sqs_queue_policy" "events" {
  for_each = {
    events      = aws_sqs_queue.events
    dead_letter = aws_sqs_queue.dead_letter
  }
  queue_url = each.value.id
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = concat([
      {
        Sid       = "EventBridgeRuleSends"
        Effect    = "Allow"
        Principal = { Service = "events.amazonaws.com" }
        Action    = "sqs:SendMessage"
        Resource  = each.value.arn
        Condition = { ArnEquals = { "aws:SourceArn" = aws_cloudwatch_event_rule.change_events.arn } }
      },
      {
        Sid       = "TlsOnly"
        Effect    = "Deny"
        Principal = "*"
        Action    = "sqs:*"
        Resource  = each.value.arn
        Condition = { Bool = { "aws:SecureTransport" = "false" } }
      }
      ], each.key == "events" ? [{
        Sid       = "DriftwatchConsumes"
        Effect    = "Allow"
        Principal = { AWS = var.consumer_role_arn }
        Action    = ["sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:ChangeMessageVisibility", "sqs:GetQueueAttributes"]
        Resource  = each.value.arn
    }] : [])
  })
}

output "event_bus_arn" {
  description = "central_event_bus_arn for ../organization-member"
  value       = aws_cloudwatch_event_bus.central.arn
}

output "queue_url" {
  description = "[[events.queues]] url in driftwatch.toml"
  value       = aws_sqs_queue.events.id
}
