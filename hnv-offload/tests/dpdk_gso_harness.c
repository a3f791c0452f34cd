/*
 * Runs DPDK's librte_gso on one frame and prints the segments, for hnv-offload's
 * differential test (tests/dpdk_gso.rs builds and runs this).
 *
 * usage: harness FRAME_FILE GSO_SIZE FIXED_ID OL_FLAGS OUTER_L2 OUTER_L3 L2 L3 L4
 * prints: "count N" then one line "seg HEX" per segment; exit 2 on error.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <rte_eal.h>
#include <rte_ethdev.h>
#include <rte_gso.h>
#include <rte_mbuf.h>

#define MAX_SEGS 256
#define DATA_ROOM 16384

int main(int argc, char **argv)
{
	if (argc != 10) {
		fprintf(stderr, "usage: %s FRAME GSO_SIZE FIXED_ID OL_FLAGS OUTER_L2 OUTER_L3 L2 L3 L4\n", argv[0]);
		return 2;
	}
	char *eal_args[] = {"hnv-gso", "--no-huge", "--no-pci", "--no-shconf", "-m", "256",
			    "-l", "0", "--log-level", "*:error", NULL};
	if (rte_eal_init(10, eal_args) < 0) {
		fprintf(stderr, "rte_eal_init failed\n");
		return 2;
	}
	FILE *f = fopen(argv[1], "rb");
	if (!f) {
		perror("frame");
		return 2;
	}
	static unsigned char frame[DATA_ROOM];
	size_t len = fread(frame, 1, sizeof frame, f);
	fclose(f);

	struct rte_mempool *pool = rte_pktmbuf_pool_create("hnv", 1024, 0, 0,
		DATA_ROOM + RTE_PKTMBUF_HEADROOM, SOCKET_ID_ANY);
	if (!pool) {
		fprintf(stderr, "mempool failed\n");
		return 2;
	}
	struct rte_mbuf *m = rte_pktmbuf_alloc(pool);
	char *dst = rte_pktmbuf_append(m, (uint16_t)len);
	if (!dst) {
		fprintf(stderr, "frame too large\n");
		return 2;
	}
	memcpy(dst, frame, len);
	m->ol_flags = strtoull(argv[4], NULL, 0);
	m->outer_l2_len = atoi(argv[5]);
	m->outer_l3_len = atoi(argv[6]);
	m->l2_len = atoi(argv[7]);
	m->l3_len = atoi(argv[8]);
	m->l4_len = atoi(argv[9]);

	struct rte_gso_ctx ctx = {
		.direct_pool = pool,
		.indirect_pool = pool,
		.flag = atoi(argv[3]) ? RTE_GSO_FLAG_IPID_FIXED : 0,
		.gso_types = RTE_ETH_TX_OFFLOAD_GRE_TNL_TSO | RTE_ETH_TX_OFFLOAD_TCP_TSO,
		.gso_size = (uint16_t)atoi(argv[2]),
	};
	struct rte_mbuf *out[MAX_SEGS];
	int n = rte_gso_segment(m, &ctx, out, MAX_SEGS);
	if (n < 0) {
		fprintf(stderr, "rte_gso_segment: %d\n", n);
		return 2;
	}
	printf("count %d\n", n);
	static unsigned char buf[DATA_ROOM];
	for (int i = 0; i < n; i++) {
		const unsigned char *p = rte_pktmbuf_read(out[i], 0, out[i]->pkt_len, buf);
		printf("seg ");
		for (uint32_t j = 0; j < out[i]->pkt_len; j++)
			printf("%02x", p[j]);
		printf("\n");
	}
	return 0;
}
