package main

import (
	"fmt"
	"regexp"
	"sort"
	"strings"

	"github.com/Sage-Bionetworks/synapse-docker-registry/infra"
)

// The roles' statements, derived from permissions.go: the deploy role gets every type's Manage
// and Read actions, the preview role only Read; both on the resources the table names.

// globalServices' requests carry no stack region (aws:RequestedRegion is us-east-1 for them).
var globalServices = map[string]bool{"iam": true, "route53": true, "sts": true}

// serviceLinkedRoles are the service-linked roles a fresh account lacks until the first service
// of each kind is created by the deploy role: ECS (the service), Elastic Load Balancing (the load
// balancer) and Application Auto Scaling for ECS services (the scalable target). IAM User Guide,
// "AWS services that work with IAM" names them.
var serviceLinkedRoles = []string{"ecs.amazonaws.com", "elasticloadbalancing.amazonaws.com", "ecs.application-autoscaling.amazonaws.com"}

// imageObjectReads are the actions that read an object's data (S3 Service Authorization
// Reference, object resource type, access level Read); the preview role is denied them on the
// image bucket whatever else allows them.
var imageObjectReads = []string{"s3:GetObject", "s3:GetObjectVersion", "s3:GetObjectAttributes", "s3:GetObjectTorrent",
	"s3:GetObjectVersionTorrent", "s3:GetObjectVersionAttributes", "s3:RestoreObject"}

// secretValueReads return a secret's value (Secrets Manager Service Authorization Reference).
var secretValueReads = []string{"secretsmanager:GetSecretValue", "secretsmanager:BatchGetSecretValue"}

type expander struct{ *strings.Replacer }

func newExpander(cfg rolesConfig, account, stack string) expander {
	fresh := infra.StackFreshNames(appProject, stack)
	return expander{strings.NewReplacer("{region}", cfg.region, "{account}", account, "{stack}", stack,
		"{project}", appProject, "{imageBucket}", cfg.imageBucket,
		"{alb}", fresh.LoadBalancer, "{tg}", fresh.TargetGroup, "{accessLogsPrefix}", fresh.AccessLogsBucketPrefix)}
}

// The table's templates name resources as a stack deployed before the registry became a
// component does (auto-names from bare logical names, <base>-<7 hex>), and such a stack keeps
// them. A stack created since gets names from the registry's name (infra/names.go): children
// auto-named <project>-<stack>-<base>-<7 hex>, and the load balancer, target group and access-log
// bucket named explicitly. freshVariant is a template's form for such a stack ("" if the same).
var (
	freshELB = strings.NewReplacer("loadbalancer/app/registry-*/", "loadbalancer/app/{alb}/",
		"listener/app/registry-*/", "listener/app/{alb}/", "listener-rule/app/registry-*/", "listener-rule/app/{alb}/",
		"targetgroup/registry-*/", "targetgroup/{tg}/", "alb-access-logs-*", "{accessLogsPrefix}*")
	freshChild = regexp.MustCompile(`([/:])((?:registry|execution|task|flow-logs|alarms|notifications|alb-5xx-rate|no-healthy-targets|unhealthy-targets|tasks-restarting|notification-relay-restarts)-\*)`)
)

func freshVariant(template string) string {
	v := freshChild.ReplaceAllString(freshELB.Replace(template), "${1}{project}-{stack}-${2}")
	if v == template {
		return ""
	}
	return v
}

// all expands the templates, each in its deployed and its fresh form.
func (e expander) all(templates []string) []string {
	var out []string
	for _, t := range templates {
		out = append(out, e.Replace(t))
		if v := freshVariant(t); v != "" {
			out = append(out, e.Replace(v))
		}
	}
	return out
}

// tablePerms: every perm of the table, the invokes and (for deploys) the workflow's own calls.
func tablePerms(deploy bool) []perm {
	var out []perm
	for _, table := range []map[string][]perm{resourceTypePermissions, invokePermissions} {
		for _, perms := range table {
			out = append(out, perms...)
		}
	}
	if deploy {
		out = append(out, workflowPermissions...)
	}
	return out
}

// grantStatements merges the perms into one Allow statement per resource set, with sorted,
// de-duplicated actions; "*" statements of regional services are limited to the stack's region.
func grantStatements(perms []perm, deploy bool, e expander, region string) []statement {
	byResources := map[string]map[string]bool{}
	for _, p := range perms {
		actions := p.Read
		if deploy {
			actions = with(p.Manage, p.Read...)
		}
		if len(actions) == 0 {
			continue
		}
		on := append([]string{}, p.On...)
		sort.Strings(on)
		key := strings.Join(on, " ")
		if key == "" {
			// "*": split global and regional services, so only the latter get the region condition.
			for _, a := range actions {
				k := "*regional"
				if globalServices[service(a)] {
					k = "*global"
				}
				addAction(byResources, k, a)
			}
			continue
		}
		for _, a := range actions {
			addAction(byResources, key, a)
		}
	}
	keys := make([]string, 0, len(byResources))
	for k := range byResources {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var out []statement
	for i, k := range keys {
		actions := make([]string, 0, len(byResources[k]))
		for a := range byResources[k] {
			actions = append(actions, a)
		}
		sort.Strings(actions)
		st := statement{Sid: fmt.Sprintf("Stack%02d", i+1), Effect: "Allow", Action: actions}
		switch k {
		case "*regional":
			st.Resource = []string{"*"}
			st.Condition = map[string]map[string]any{"StringEquals": {"aws:RequestedRegion": region}}
		case "*global":
			st.Resource = []string{"*"}
		default:
			st.Resource = e.all(strings.Split(k, " "))
		}
		out = append(out, st)
	}
	return out
}

func addAction(m map[string]map[string]bool, key, action string) {
	if m[key] == nil {
		m[key] = map[string]bool{}
	}
	m[key][action] = true
}

func service(action string) string {
	s, _, _ := strings.Cut(action, ":")
	return s
}

func stateResources(bucket string) []string {
	return []string{"arn:aws:s3:::" + bucket, "arn:aws:s3:::" + bucket + "/*"}
}

// deployStatements: what `pulumi up` of the stack does (infra/ declares it), on a fresh account.
func deployStatements(cfg rolesConfig, account, stack string) []statement {
	e := newExpander(cfg, account, stack)
	out := grantStatements(tablePerms(true), true, e, cfg.region)
	for i, p := range passRoles {
		out = append(out, statement{Sid: fmt.Sprintf("PassRole%d", i+1), Effect: "Allow", Action: []string{"iam:PassRole"}, Resource: e.all(p.Roles),
			Condition: map[string]map[string]any{"StringEquals": {"iam:PassedToService": p.Service}}})
	}
	out = append(out, statement{Sid: "ServiceLinkedRoles", Effect: "Allow", Action: []string{"iam:CreateServiceLinkedRole"},
		Resource:  []string{"arn:aws:iam::" + account + ":role/aws-service-role/*"},
		Condition: map[string]map[string]any{"StringEquals": {"iam:AWSServiceName": serviceLinkedRoles}}})
	// The DIY backend of `pulumi up` reads and writes the checkpoint, its history and backups, and
	// the lock under .pulumi/locks (pulumi/pulumi pkg/backend/diy/backend.go, lock.go).
	if cfg.stateBucket != "" {
		out = append(out, statement{Sid: "StateReadWrite", Effect: "Allow", Action: []string{"s3:DeleteObject", "s3:GetObject", "s3:ListBucket", "s3:PutObject"},
			Resource: stateResources(cfg.stateBucket)})
	}
	if cfg.secretsKey != "" {
		// The awskms secrets provider decrypts the stack's data key (kms:Decrypt); only
		// `pulumi stack init` encrypts one, which an administrator does.
		out = append(out, statement{Sid: "SecretsProviderDecrypt", Effect: "Allow", Action: []string{"kms:Decrypt"}, Resource: []string{cfg.secretsKey}},
			// The alarms key's management (kms:* on key/*) must never reach the secrets key.
			statement{Sid: "SecretsProviderKeyUntouched", Effect: "Deny", Action: kmsKeyManagement(), Resource: []string{cfg.secretsKey}})
	}
	return out
}

// kmsKeyManagement: the table's KMS actions on keys.
func kmsKeyManagement() []string {
	var out []string
	for _, p := range resourceTypePermissions["aws:kms/key:Key"] {
		if len(p.On) > 0 {
			out = append(out, p.Manage...)
		}
	}
	sort.Strings(out)
	return out
}

// previewStatements: reads only, and explicit denies, which win over any allow (this role's or
// one attached to it later).
func previewStatements(cfg rolesConfig, account, stack string) []statement {
	e := newExpander(cfg, account, stack)
	out := grantStatements(tablePerms(false), false, e, cfg.region)
	// Preview and refresh --preview-only neither lock nor write a DIY backend's state (pulumi/pulumi
	// pkg/backend/diy/backend.go: Preview and Refresh with PreviewOnly skip Lock, and a dry run
	// saves no history or backup).
	if cfg.stateBucket != "" {
		out = append(out, statement{Sid: "StateRead", Effect: "Allow", Action: []string{"s3:GetObject", "s3:ListBucket"}, Resource: stateResources(cfg.stateBucket)})
	}
	if cfg.secretsKey != "" {
		out = append(out, statement{Sid: "SecretsProviderDecrypt", Effect: "Allow", Action: []string{"kms:Decrypt"}, Resource: []string{cfg.secretsKey}})
	}
	return append(out,
		statement{Sid: "DenyImageData", Effect: "Deny", Action: imageObjectReads, Resource: []string{"arn:aws:s3:::" + cfg.imageBucket + "/*"}},
		statement{Sid: "DenySecretValues", Effect: "Deny", Action: secretValueReads, Resource: []string{"*"}})
}
