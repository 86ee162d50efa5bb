/*
 * cache.c: what the HTTP thread answers from, under one mutex. The main thread
 * replaces the VM map after each ZooKeeper scan and stores each profile's user-data
 * after each database fetch; the HTTP thread looks things up and marks what it waits
 * for. Memory is bounded: at most META_MAX_VMS entries and META_MAX_PROFILES
 * profiles of at most META_USERDATA_MAX bytes each.
 */
#include <stdlib.h>
#include <string.h>

#include "meta.h"
#include "pvc.h"

int meta_cache_init(struct meta_cache *c)
{
	memset(c, 0, sizeof(*c));
	return pthread_mutex_init(&c->mu, NULL) == 0 ? 0 : -1;
}

void meta_cache_free(struct meta_cache *c)
{
	free(c->vms);
	c->vms = NULL;
	c->nvms = 0;
	for (size_t i = 0; i < META_MAX_PROFILES; i++) {
		free(c->profs[i].data);
		memset(&c->profs[i], 0, sizeof(c->profs[i]));
	}
	(void)pthread_mutex_destroy(&c->mu);
}

static int vm_cmp(const void *a, const void *b)
{
	return strcmp(((const struct meta_vm *)a)->ip, ((const struct meta_vm *)b)->ip);
}

void meta_cache_set_vms(struct meta_cache *c, struct meta_vm *vms, size_t n, int failed,
			uint64_t start_ms)
{
	struct meta_vm *old = NULL;

	if (vms != NULL && n > 1)
		qsort(vms, n, sizeof(*vms), vm_cmp);
	pthread_mutex_lock(&c->mu);
	if (!failed) {
		old = c->vms;
		c->vms = vms;
		c->nvms = n;
		c->scan_done_start_ms = start_ms;
	} else {
		old = vms; /* keep the previous map: it is better than nothing */
	}
	c->scan_failed = failed;
	c->scan_done++;
	c->scan_running = 0;
	pthread_mutex_unlock(&c->mu);
	free(old);
}

const struct meta_vm *meta_cache_find_vm(const struct meta_cache *c, const char *ip)
{
	struct meta_vm key;

	if (c->nvms == 0 || strlen(ip) >= sizeof(key.ip))
		return NULL;
	strlcpy_pvc(key.ip, ip, sizeof(key.ip));
	return bsearch(&key, c->vms, c->nvms, sizeof(key), vm_cmp);
}

struct meta_prof *meta_cache_prof(struct meta_cache *c, const char *name, uint64_t now)
{
	struct meta_prof *lru = NULL;

	if (strlen(name) >= META_NAME_MAX)
		return NULL;
	for (size_t i = 0; i < META_MAX_PROFILES; i++) {
		struct meta_prof *p = &c->profs[i];
		if (p->name[0] != '\0' && strcmp(p->name, name) == 0) {
			p->used_ms = now;
			return p;
		}
		if (p->wanted)
			continue;
		if (lru == NULL || p->name[0] == '\0' || (lru->name[0] != '\0' && p->used_ms < lru->used_ms))
			lru = p;
	}
	if (lru == NULL)
		return NULL;
	free(lru->data);
	memset(lru, 0, sizeof(*lru));
	strlcpy_pvc(lru->name, name, sizeof(lru->name));
	lru->used_ms = now;
	return lru;
}

void meta_cache_prof_done(struct meta_cache *c, const char *name, enum meta_ud_state st,
			  const char *data, size_t len, uint64_t now)
{
	char *copy = NULL;

	if (st == META_UD_OK) {
		copy = malloc(len + 1);
		if (copy == NULL) {
			st = META_UD_DBERR;
		} else {
			memcpy(copy, data, len);
			copy[len] = '\0';
		}
	}
	pthread_mutex_lock(&c->mu);
	for (size_t i = 0; i < META_MAX_PROFILES; i++) {
		struct meta_prof *p = &c->profs[i];
		if (p->name[0] == '\0' || strcmp(p->name, name) != 0)
			continue;
		free(p->data);
		p->data = copy;
		p->len = copy ? len : 0;
		copy = NULL;
		p->state = st;
		p->fetched_ms = now;
		p->done_seq++;
		p->wanted = 0;
		break;
	}
	pthread_mutex_unlock(&c->mu);
	free(copy); /* the entry was reused meanwhile */
}

int meta_cache_prof_next(struct meta_cache *c, char *out, size_t size)
{
	for (size_t i = 0; i < META_MAX_PROFILES; i++) {
		if (c->profs[i].wanted && c->profs[i].name[0] != '\0') {
			strlcpy_pvc(out, c->profs[i].name, size);
			return 1;
		}
	}
	return 0;
}
