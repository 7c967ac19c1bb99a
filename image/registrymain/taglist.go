package registrymain

// The taglist repository middleware: the entrypoint always configures it, so that paged tag
// listings list every tag once (image/taglist).
import _ "github.com/Sage-Bionetworks/synapse-docker-registry/image/taglist"
