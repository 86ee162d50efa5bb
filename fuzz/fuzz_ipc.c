/*
 * fuzz_ipc.c: libFuzzer target for the IPC frame decoder and the STRV decoder.
 *
 * The input is a byte stream as it would arrive on a worker's socketpair: decode
 * frames one after the other until the decoder wants more or rejects the stream,
 * decode every STRV payload and run the string validators of lib/util.c on its
 * strings. Build and run: see docs/privileges.md (Fuzzing).
 */
#include <assert.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "ipc.h"
#include "pvc.h"

/* STRV types as the catalogue says, derived from the decoder itself: a zero-length
 * payload is invalid only for STRV (count missing) and FIXED (size), so use the
 * checker to recognise STRV: a lone count of 0 is a valid STRV and nothing else. */
static int is_strv(uint32_t type)
{
	static const uint8_t zero[4];
	return ipc_check_payload(type, zero, sizeof(zero), NULL) == 0 &&
	       ipc_check_payload(type, NULL, 0, NULL) != 0;
}

static void check_strv(const struct ipc_msg *m)
{
	struct ipc_strv sv;
	const char *err = NULL;
	size_t total = 4;

	if (ipc_strv_decode(m->data, m->hdr.len, &sv, &err) != 0) {
		/* ipc_decode already validated the payload: only memory may fail */
		assert(err != NULL);
		return;
	}
	for (uint32_t i = 0; i < sv.n; i++) {
		long long v = 0;
		assert(sv.v[i] != NULL);
		assert(strlen(sv.v[i]) == sv.lens[i]);
		total += 4 + (size_t)sv.lens[i];
		/* the validators every receiver applies to these strings (lib/util.c) */
		if (valid_uuid(sv.v[i]))
			assert(sv.lens[i] == 36);
		if (valid_node_name(sv.v[i]))
			assert(sv.lens[i] >= 1 && sv.lens[i] <= 63);
		if (parse_ll(sv.v[i], -1000, 1000000, &v) == 0)
			assert(v >= -1000 && v <= 1000000);
	}
	assert(total == m->hdr.len);
	ipc_strv_free(&sv);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	size_t off = 0;

	while (off < size) {
		struct ipc_msg m;
		size_t used = 0;
		const char *err = NULL;
		int rc = ipc_decode(data + off, size - off, &m, &used, &err);

		if (rc == IPC_DECODE_MORE)
			break;
		if (rc == IPC_DECODE_ERROR) {
			assert(err != NULL);
			assert(m.data == NULL);
			break;
		}
		assert(used == IPC_HDR_SIZE + m.hdr.len && used <= size - off);
		assert(m.data[m.hdr.len] == '\0');
		assert(m.hdr.sender != m.hdr.dest);
		if (is_strv(m.hdr.type))
			check_strv(&m);
		/* also the raw payload, as a receiver of a locally built frame would */
		(void)ipc_check_payload(m.hdr.type, m.data, m.hdr.len, NULL);
		ipc_msg_free(&m);
		off += used;
	}
	/* the STRV decoder on its own, on arbitrary bytes */
	{
		struct ipc_strv sv;
		if (ipc_strv_decode(data, size, &sv, NULL) == 0)
			ipc_strv_free(&sv);
	}
	return 0;
}
