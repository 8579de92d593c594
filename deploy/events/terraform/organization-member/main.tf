# driftwatch change events for an organization, member part: in every
# member account and every region driftwatch scans (and us-east-1 for
# IAM), and in the management account too (a StackSet skips it), a rule on
# the default bus forwards the CloudTrail write events of
# the services driftwatch collects to the central bus
# (../organization-central). The same resources as
# ../../cloudformation/organization-member.yaml.

terraform {
  required_providers {
    aws = { source = "hashicorp/aws", version = ">= 5.0" }
  }
}

variable "central_event_bus_arn" {
  type        = string
  description = "The event_bus_arn output of ../organization-central"
}

variable "name" {
  type    = string
  default = "driftwatch-change-events"
}

data "aws_caller_identity" "current" {}

resource "aws_iam_role" "forward" {
  # A prefix, not a name: the module is applied once per region, and IAM
  # names are account-wide.
  name_prefix = "driftwatch-forward-"
  # The central bus admits only roles under this path.
  path = "/driftwatch/"
  assume_role_policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Effect    = "Allow"
      Principal = { Service = "events.amazonaws.com" }
      Action    = "sts:AssumeRole"
      Condition = { StringEquals = { "aws:SourceAccount" = data.aws_caller_identity.current.account_id } }
    }]
  })
}

resource "aws_iam_role_policy" "put_to_central_bus" {
  name = "put-to-central-bus"
  role = aws_iam_role.forward.id
  policy = jsonencode({
    Version   = "2012-10-17"
    Statement = [{ Effect = "Allow", Action = "events:PutEvents", Resource = var.central_event_bus_arn }]
  })
}

# What the central bus could not be sent (a missing bus policy, an SCP in
# the way): EventBridge does not retry permission errors, so without this
# they would be dropped. Alarm on its depth.
resource "aws_sqs_queue" "forward_dead_letter" {
  name                      = "${var.name}-forward-dlq"
  message_retention_seconds = 1209600
  sqs_managed_sse_enabled   = true
}

resource "aws_sqs_queue_policy" "forward_dead_letter" {
  queue_url = aws_sqs_queue.forward_dead_letter.id
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [
      {
        Sid       = "EventBridgeRuleSends"
        Effect    = "Allow"
        Principal = { Service = "events.amazonaws.com" }
        Action    = "sqs:SendMessage"
        Resource  = aws_sqs_queue.forward_dead_letter.arn
        Condition = { ArnEquals = { "aws:SourceArn" = aws_cloudwatch_event_rule.change_events.arn } }
      },
      {
        Sid       = "TlsOnly"
        Effect    = "Deny"
        Principal = "*"
        Action    = "sqs:*"
        Resource  = aws_sqs_queue.forward_dead_letter.arn
        Condition = { Bool = { "aws:SecureTransport" = "false" } }
      }
    ]
  })
}

resource "aws_cloudwatch_event_rule" "change_events" {
  name          = var.name
  description   = "Forwards CloudTrail write events of the services driftwatch collects"
  event_pattern = file("${path.module}/../../event-pattern.json")
}

resource "aws_cloudwatch_event_target" "central_bus" {
  rule      = aws_cloudwatch_event_rule.change_events.name
  target_id = "driftwatch-central-bus"
  arn       = var.central_event_bus_arn
  role_arn  = aws_iam_role.forward.arn
  retry_policy {
    maximum_event_age_in_seconds = 86400
    maximum_retry_attempts       = 185
  }
  dead_letter_config {
    arn = aws_sqs_queue.forward_dead_letter.arn
  }
  depends_on = [aws_iam_role_policy.put_to_central_bus, aws_sqs_queue_policy.forward_dead_letter]
}

output "forward_dead_letter_queue_url" {
  description = "Alarm on its depth: anything here never reached driftwatch"
  value       = aws_sqs_queue.forward_dead_letter.id
}
