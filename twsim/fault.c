/*
 * fault: the fault rules in force (fault_rule.c reads them), and what
 * they do to each request.
 *
 * Per request, every rule that matches may fire: delays add up, drifts
 * combine, and the first answer-changing rule (status, drop,
 * too_many_attempts, malformed, truncate) wins. A rule that used up its
 * count is removed. Without rules, deciding is one atomic load; with
 * some, a mutex (faults are for tests, not for the benchmark path).
 * revoke is not kept as a rule: adding it revokes tokens at once.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "log.h"
#include "metrics.h"
#include "twsim.h"

struct tw_faults {
	pthread_mutex_t	 mu;
	struct fault_rule rules[FAULT_MAX];
	int		 n;
	int		 next_id;
	uint64_t	 seed;
	_Atomic int	 active;	/* n, read without the lock */
	_Atomic uint64_t injected;	/* since start or the last reset */
};

static struct metric *injected_metric;

struct tw_faults *
fault_new(uint64_t seed)
{
	struct tw_faults *f;

	if ((f = calloc(1, sizeof(*f))) == NULL)
		return NULL;
	pthread_mutex_init(&f->mu, NULL);
	f->seed = seed;
	f->next_id = 1;
	injected_metric = metric_counter("twsim_faults_injected_total",
	    "Faults the simulator injected, by kind and endpoint.",
	    "kind,endpoint");
	return f;
}

void
fault_free(struct tw_faults *f)
{
	if (f == NULL)
		return;
	pthread_mutex_destroy(&f->mu);
	free(f);
}

/* --- reading rules -------------------------------------------------- */

/* --- adding, listing, removing -------------------------------------- */

/* Applies a revoke; returns the accounts revoked, or -1 (no such one). */
static int
revoke(struct tw_world *w, const struct fault_rule *f)
{
	int n = 0;

	for (size_t i = 0; i < w->naccounts; i++) {
		struct tw_account *a = w->accounts[i];

		if (f->account[0] != '\0' && strcasecmp(f->account, a->email))
			continue;
		token_revoke(a, f->reason);
		n++;
	}
	if (n > 0)
		log_info("fault: revoked the tokens of %d account(s) (%s)", n,
		    fault_reason_name(f->reason));
	return n == 0 && f->account[0] != '\0' ? -1 : n;
}

/* Adds prepared rules (revokes are carried out); -1 when too many. */
static int
add_rules(struct tw_world *w, struct fault_rule *rules, int n, bool config,
    struct jw *j, char *why, size_t len)
{
	struct tw_faults *f = w->faults;
	int revoked = 0, keep = 0, rc = -1;

	for (int i = 0; i < n; i++) {
		if (rules[i].kind == FK_REVOKE) {
			if (config) {
				snprintf(why, len, "revoke is an action: POST it "
				    "to /admin/faults");
				return -1;
			}
			if (rules[i].account[0] != '\0' &&
			    scenario_find_email(w, rules[i].account) == NULL) {
				snprintf(why, len, "account: no account %s",
				    rules[i].account);
				return -1;
			}
		} else
			keep++;
	}
	pthread_mutex_lock(&f->mu);
	if (f->n + keep > FAULT_MAX) {
		snprintf(why, len, "at most %d faults at once (%d active)",
		    FAULT_MAX, f->n);
		goto done;
	}
	if (j != NULL) {
		jw_obj(j);
		jw_key(j, "faults");
		jw_arr(j);
	}
	for (int i = 0; i < n; i++) {
		struct fault_rule *r;

		if (rules[i].kind == FK_REVOKE) {
			revoked += revoke(w, &rules[i]);
			continue;
		}
		r = &f->rules[f->n++];
		*r = rules[i];
		r->id = f->next_id++;
		r->config = config;
		if (j != NULL)
			fault_rule_write(j, r);
		log_info("fault %d added: %s", r->id, fault_kind_name(r->kind));
	}
	if (j != NULL) {
		jw_arr_end(j);
		jw_kint(j, "revoked", revoked);
		jw_obj_end(j);
	}
	atomic_store(&f->active, f->n);
	rc = 0;
done:
	pthread_mutex_unlock(&f->mu);
	return rc;
}

/*
 * Adds the faults of a JSON body: one rule object or a list of them.
 * All or nothing. Writes {"faults": [...], "revoked": N} into j.
 */
int
fault_add_json(struct tw_world *w, const char *text, size_t len, struct jw *j,
    char *why, size_t whylen)
{
	struct fault_rule rules[FAULT_MAX];
	int n;

	if (fault_rules_json(text, len, rules, &n, why, whylen) == -1)
		return -1;
	return add_rules(w, rules, n, false, j, why, whylen);
}

int
fault_check_tree(const struct cnode *root, char *why, size_t len)
{
	struct fault_rule rules[FAULT_MAX];
	int n;

	return fault_rules_tree(root, rules, &n, why, len);
}

/* Replaces the configured rules with those of the tree (start, SIGHUP). */
int
fault_add_tree(struct tw_world *w, const struct cnode *root, bool config,
    char *why, size_t len)
{
	struct fault_rule rules[FAULT_MAX];
	int n;

	if (fault_rules_tree(root, rules, &n, why, len) == -1)
		return -1;
	if (config)
		fault_clear(w->faults, false);
	return add_rules(w, rules, n, config, NULL, why, len);
}

void
fault_list(struct tw_faults *f, struct jw *j)
{
	pthread_mutex_lock(&f->mu);
	jw_obj(j);
	jw_key(j, "faults");
	jw_arr(j);
	for (int i = 0; i < f->n; i++)
		fault_rule_write(j, &f->rules[i]);
	jw_arr_end(j);
	jw_obj_end(j);
	pthread_mutex_unlock(&f->mu);
}

/* Removes every rule (all) or only the configured ones; returns how many. */
int
fault_clear(struct tw_faults *f, bool all)
{
	int kept = 0, removed;

	pthread_mutex_lock(&f->mu);
	for (int i = 0; i < f->n; i++)
		if (!all && !f->rules[i].config)
			f->rules[kept++] = f->rules[i];
	removed = f->n - kept;
	f->n = kept;
	atomic_store(&f->active, f->n);
	pthread_mutex_unlock(&f->mu);
	return removed;
}

/* 0, or -1 when no rule has that id. */
int
fault_delete(struct tw_faults *f, int id)
{
	int rc = -1;

	pthread_mutex_lock(&f->mu);
	for (int i = 0; i < f->n; i++)
		if (f->rules[i].id == id) {
			memmove(&f->rules[i], &f->rules[i + 1],
			    (size_t)(f->n - i - 1) * sizeof(f->rules[0]));
			f->n--;
			rc = 0;
			break;
		}
	atomic_store(&f->active, f->n);
	pthread_mutex_unlock(&f->mu);
	return rc;
}

/* Active rules and faults injected, for /admin/stats. */
void
fault_counts(struct tw_faults *f, uint64_t *active, uint64_t *injected)
{
	*active = (uint64_t)atomic_load(&f->active);
	*injected = atomic_load(&f->injected);
}

void
fault_reset_counts(struct tw_faults *f)
{
	atomic_store(&f->injected, 0);
}

/* --- deciding ------------------------------------------------------- */

static bool
changes_answer(enum fault_kind k)
{
	return k == FK_STATUS || k == FK_DROP || k == FK_TOO_MANY ||
	    k == FK_MALFORMED || k == FK_TRUNCATE;
}

static void
fire(const struct fault_rule *r, struct fault_decision *d)
{
	switch (r->kind) {
	case FK_STATUS:
		d->action = FAULT_STATUS;
		d->status = r->status;
		d->retry_after = r->retry_after > 0 ? r->retry_after : 0;
		break;
	case FK_DROP:
		d->action = FAULT_DROP;
		break;
	case FK_TOO_MANY:
		d->action = FAULT_TOO_MANY;
		break;
	case FK_MALFORMED:
		d->action = FAULT_MALFORMED;
		break;
	case FK_TRUNCATE:
		d->action = FAULT_TRUNCATE;
		break;
	case FK_DELAY:
		d->delay_ms += r->delay_ms;
		break;
	case FK_DRIFT_INTEGER:
		d->drift |= DRIFT_INTEGER;
		break;
	case FK_DRIFT_BOOLEAN:
		d->drift |= DRIFT_BOOLEAN;
		break;
	case FK_DRIFT_MISSING:
		d->drift |= DRIFT_MISSING;
		break;
	default:
		break;
	}
}

/*
 * What the rules do to one request to endpoint ep (about device serial,
 * or ""). Without rules this is one atomic load.
 */
void
fault_decide(struct tw_faults *f, enum tw_endpoint ep, const char *serial,
    struct fault_decision *d)
{
	int kept = 0;

	memset(d, 0, sizeof(*d));
	if (atomic_load_explicit(&f->active, memory_order_relaxed) == 0)
		return;
	pthread_mutex_lock(&f->mu);
	for (int i = 0; i < f->n; i++) {
		struct fault_rule *r = &f->rules[i];
		bool spent = false;

		if ((r->eps & (1u << ep)) == 0 ||
		    (r->device[0] && strcmp(r->device, serial) != 0) ||
		    (changes_answer(r->kind) && d->action != FAULT_NONE))
			goto keep;
		if (r->probability < 1 && hash_unit(f->seed, (uint64_t)r->id,
		    r->draws++) >= r->probability)
			goto keep;
		fire(r, d);
		r->injected++;
		atomic_fetch_add(&f->injected, 1);
		metric_inc(metric_with(injected_metric, fault_kind_name(r->kind),
		    serve_endpoint_name(ep)));
		spent = r->count > 0 && --r->remaining == 0;
		if (spent) {
			log_info("fault %d (%s) used up", r->id,
			    fault_kind_name(r->kind));
			continue;
		}
keep:
		f->rules[kept++] = *r;
	}
	f->n = kept;
	atomic_store(&f->active, f->n);
	pthread_mutex_unlock(&f->mu);
}

/*
 * Spoils a rendered body: malformed keeps the first half and ends it
 * with a stray ",,]}"; truncate keeps the first half only.
 */
void
fault_apply_body(const struct fault_decision *d, struct buf *b)
{
	size_t half = b->len / 2;

	if (d->action != FAULT_MALFORMED && d->action != FAULT_TRUNCATE)
		return;
	if (b->data == NULL && buf_puts(b, "") == -1)
		return;
	b->len = half;
	b->data[half] = '\0';
	if (d->action == FAULT_MALFORMED)
		buf_puts(b, ",,]}\n");
}
