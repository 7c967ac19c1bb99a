package infra

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/Sage-Bionetworks/synapse-docker-registry/image/registryconfig"
	"github.com/Sage-Bionetworks/synapse-docker-registry/image/taskprotection"
)

// A push in flight when a deployment or scale-in starts completes, and `pulumi up` waits for the
// drain instead of timing out. ECS deregisters a task from its target group and stops it only
// once the target has drained or the deregistration delay has passed
// (https://docs.aws.amazon.com/AmazonECS/latest/developerguide/load-balancer-connection-draining.html);
// the delay's AWS maximum is 3,600 s and Fargate's stopTimeout maximum is 120 s
// (https://docs.aws.amazon.com/AmazonECS/latest/developerguide/task_definition_parameters.html).
// Before that, ECS does not stop a task protected from scale-in (AWS, "Protect your Amazon ECS
// tasks from being terminated by scale-in events": "tasks running older version will not be
// terminated until protectionEnabled is unset or expires"), which the registry is while uploads
// are in flight, for at most one protection window.
func TestTimeoutsCoverTheLongestPush(t *testing.T) {
	forEachStack(t, func(t *testing.T, r *run) {
		tg := r.one(t, tTargetGroup, "registry")
		delay, _ := tg.Input("deregistrationDelay")
		d, _ := delay.(float64)
		if d > albMaxDeregistrationDelaySeconds {
			t.Errorf("deregistration delay %v s exceeds the ALB maximum %d", d, albMaxDeregistrationDelaySeconds)
		}
		if d < measuredLayerPushSeconds || d < IdleTimeoutSeconds {
			t.Errorf("deregistration delay %v s: a 100 GB layer takes %.0f s at the measured %.0f MiB/s per layer, and the final PUT may be silent for %d s", d, measuredLayerPushSeconds, measuredLayerPushMiBps, IdleTimeoutSeconds)
		}
		// The limit docs/operations.md states: a task at its measured push capacity gets a 100 GB
		// layer through in more time than AWS allows a drain. If that stops being true, the docs'
		// caveat is stale.
		if saturated := longestLayerBytes / (saturatedLayerPushMiBps * 1024 * 1024); saturated <= albMaxDeregistrationDelaySeconds {
			t.Errorf("a saturated task pushes 100 GB in %.0f s, within the drain limit: update docs/operations.md's caveat", saturated)
		}
		stop, _ := r.containers(t)[0]["stopTimeout"].(float64)
		drain, _ := time.ParseDuration(registryconfig.DrainTimeout)
		if stop > 120 || time.Duration(stop)*time.Second <= drain {
			t.Errorf("stopTimeout %v s: at most Fargate's 120 s, and longer than the registry's drain timeout %s", stop, drain)
		}
		svc := r.one(t, tService, "registry")
		if svc.CustomTimeouts == nil {
			t.Fatal("the service has no custom timeouts; the provider's 20 minutes end while old tasks still drain")
		}
		// ECS keeps an old task while it is protected (image/taskprotection: at most MaxWindow
		// while uploads are in flight), then drains and stops it.
		if time.Duration(maxProtectionWindowSeconds)*time.Second != taskprotection.MaxWindow {
			t.Errorf("infra sizes its timeouts for a protection window of %d s; the registry protects for up to %s", maxProtectionWindowSeconds, taskprotection.MaxWindow)
		}
		window := taskprotection.MaxWindow
		update, err := time.ParseDuration(svc.CustomTimeouts.Update)
		need := window + time.Duration(d+stop+healthCheckGracePeriodSeconds)*time.Second
		if err != nil || update < need {
			t.Errorf("service update timeout %q, want at least %s (protection window %s + drain %v s + stop %v s + health grace)", svc.CustomTimeouts.Update, need, window, d, stop)
		}
		del, err := time.ParseDuration(svc.CustomTimeouts.Delete)
		if err != nil || del < window+time.Duration(d+stop)*time.Second {
			t.Errorf("service delete timeout %q, want at least the protection window, the drain and the stop", svc.CustomTimeouts.Delete)
		}
		// The deploy job and its role session must outlast the wait.
		wf, err := os.ReadFile(filepath.Join("..", ".github", "workflows", "deploy.yml"))
		if err != nil {
			t.Fatal(err)
		}
		m := regexp.MustCompile(`(?s)deploy:\n.*?timeout-minutes: (\d+)`).FindSubmatch(wf)
		if m == nil {
			t.Fatal("no timeout-minutes on the deploy job")
		}
		job, _ := strconv.Atoi(string(m[1]))
		if time.Duration(job)*time.Minute < update+20*time.Minute {
			t.Errorf("the deploy job times out after %d min, before the service update timeout %s plus a build", job, update)
		}
		// GitHub-hosted runners end any job after 6 hours (GitHub Actions, "Usage limits").
		if job > 360 {
			t.Errorf("the deploy job's timeout-minutes %d exceeds GitHub-hosted runners' 360 minutes: shorten the protection window", job)
		}
		// The operations guide states the bound, the update timeout and the job's length.
		guide, err := os.ReadFile(filepath.Join("..", "docs", "operations.md"))
		if err != nil {
			t.Fatal(err)
		}
		for _, want := range []string{
			fmt.Sprintf("one protection window lasts at most %d hours", int(window.Hours())),
			fmt.Sprintf("update timeout is %d h %d min", int(update.Hours()), int(update.Minutes())%60),
			fmt.Sprintf("The deploy job allows %d minutes", job),
		} {
			if !strings.Contains(strings.Join(strings.Fields(string(guide)), " "), want) {
				t.Errorf("docs/operations.md does not say %q", want)
			}
		}
		s := regexp.MustCompile(`role-duration-seconds: (\d+)`).FindSubmatch(wf)
		if s == nil {
			t.Fatal("no role-duration-seconds in the deploy workflow")
		}
		if session, _ := strconv.Atoi(string(s[1])); time.Duration(session)*time.Second < time.Duration(job)*time.Minute {
			t.Errorf("the deploy role session lasts %s, less than the job's %d min: pulumi up would lose its credentials while ECS drains", time.Duration(session)*time.Second, job)
		}
	})
}
