# driftwatch change events for an organization, member part: in every
# member account and every region driftwatch scans (and us-east-1 for
# IAM), a rule on the default bus forwards the CloudTrail write events of
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
data "aws_region" "current" {}

resource "aws_iam_role" "forward" {
  name = "${var.name}-forward-${data.aws_region.current.name}"
  assume_role_policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Effect    = "Allow"
      Principal = { Service = "events.amazonaws.com" }
      Action    = "sts:AssumeRole"
      Condition = { StringEquals = { "aws:SourceAccount" = data.aws_caller_identity.current.account_id } }
    }]
  })
  inline_policy {
    name = "put-to-central-bus"
    policy = jsonencode({
      Version   = "2012-10-17"
      Statement = [{ Effect = "Allow", Action = "events:PutEvents", Resource = var.central_event_bus_arn }]
    })
  }
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
}
