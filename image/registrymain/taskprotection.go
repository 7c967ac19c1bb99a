package registrymain

// The taskprotection repository middleware: the entrypoint configures it when ECS sets
// ECS_AGENT_URI, to keep the task protected from scale-in and deployments while uploads are in
// flight (image/taskprotection).
import _ "github.com/Sage-Bionetworks/synapse-docker-registry/image/taskprotection"
