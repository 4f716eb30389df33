/*  tests/test_heap.c - unit tests of the deadline heap (daemon/heap.c)
 *  Random deadlines pop in order, equal deadlines pop in insertion order,
 *  removing any node (first, last, middle, at random) keeps the heap in
 *  order, and every node's index names its slot after every operation. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "heap.h"

#define S_N 2000

typedef struct {
    heap_node_t node;   /* embedded like parked_t's timer, but not first */
    int id;             /* which one */
    bool in;            /* in the heap */
} s_item_t;

static s_item_t s_items[S_N];

static uint64_t s_rng;

static uint64_t s_rand (void)
{
    s_rng ^= s_rng << 13;
    s_rng ^= s_rng >> 7;
    s_rng ^= s_rng << 17;
    return s_rng;
}

static s_item_t *s_owner (heap_node_t *n)
{
    return (s_item_t *) ((char *) n - offsetof (s_item_t, node));
}

static bool s_before (const heap_node_t *a, const heap_node_t *b)
{
    return a->deadline < b->deadline || (a->deadline == b->deadline && a->seq < b->seq);
}

/*  The heap property, and index == slot for every node. */
static void s_verify (const heap_t *h)
{
    assert_true (h->count <= h->cap);
    for (size_t i = 0; i < h->count; i++) {
        assert_non_null (h->nodes[i]);
        if (h->nodes[i]->index != i)
            fprintf (stderr, "slot %zu holds a node whose index is %zu\n", i,
                     h->nodes[i]->index);
        assert_int_equal (h->nodes[i]->index, i);
        if (i > 0)
            assert_false (s_before (h->nodes[i], h->nodes[(i - 1) / 2]));
    }
    if (h->count)
        assert_ptr_equal (heap_peek (h), h->nodes[0]);
    else
        assert_null (heap_peek (h));
}

static int s_setup (void **state)
{
    (void) state;
    memset (s_items, 0, sizeof s_items);
    for (int i = 0; i < S_N; i++)
        s_items[i].id = i;
    s_rng = 0x9e3779b97f4a7c15ull;
    return 0;
}

static void test_empty (void **state)
{
    (void) state;
    heap_t h;
    heap_init (&h);
    assert_null (heap_peek (&h));
    assert_null (heap_pop (&h));
    assert_int_equal (h.count, 0);
    heap_fini (&h);
    heap_fini (&h);   /* harmless twice */
}

static void test_random_order (void **state)
{
    (void) state;
    heap_t h;
    heap_init (&h);
    for (int i = 0; i < S_N; i++) {
        s_items[i].node.deadline = (int64_t) (s_rand () % 100000) - 50000;
        assert_int_equal (heap_push (&h, &s_items[i].node), 0);
        if (i % 97 == 0)
            s_verify (&h);
    }
    s_verify (&h);
    assert_int_equal (h.count, S_N);
    int64_t last = INT64_MIN;
    uint64_t last_seq = 0;
    for (int i = 0; i < S_N; i++) {
        heap_node_t *n = heap_pop (&h);
        assert_non_null (n);
        assert_true (n->deadline >= last);
        if (n->deadline == last)
            assert_true (n->seq > last_seq);
        last = n->deadline;
        last_seq = n->seq;
        if (i % 101 == 0)
            s_verify (&h);
    }
    assert_null (heap_pop (&h));
    heap_fini (&h);
}

/*  Equal deadlines come out in the order they went in. */
static void test_fifo_on_ties (void **state)
{
    (void) state;
    heap_t h;
    heap_init (&h);
    /*  Three deadlines, interleaved, 300 nodes each. */
    for (int i = 0; i < 900; i++) {
        s_items[i].node.deadline = 1000 + 10 * (i % 3);
        assert_int_equal (heap_push (&h, &s_items[i].node), 0);
    }
    s_verify (&h);
    for (int d = 0; d < 3; d++)
        for (int k = 0; k < 300; k++) {
            s_item_t *it = s_owner (heap_pop (&h));
            assert_int_equal (it->node.deadline, 1000 + 10 * d);
            assert_int_equal (it->id, 3 * k + d);
        }
    assert_int_equal (h.count, 0);
    /*  All equal, pushed after some pops: still FIFO. */
    for (int i = 0; i < 50; i++) {
        s_items[i].node.deadline = 7;
        heap_push (&h, &s_items[i].node);
    }
    for (int i = 0; i < 20; i++)
        assert_int_equal (s_owner (heap_pop (&h))->id, i);
    for (int i = 50; i < 70; i++) {
        s_items[i].node.deadline = 7;
        heap_push (&h, &s_items[i].node);
    }
    for (int i = 20; i < 70; i++)
        assert_int_equal (s_owner (heap_pop (&h))->id, i);
    heap_fini (&h);
}

/*  Removes the node at slot `slot`, checks the heap, then pops the rest and
 *  checks that exactly the survivors come out, in order. */
static void s_remove_case (size_t n, size_t slot)
{
    heap_t h;
    heap_init (&h);
    for (size_t i = 0; i < n; i++) {
        s_items[i].node.deadline = (int64_t) (s_rand () % 50);
        s_items[i].in = true;
        heap_push (&h, &s_items[i].node);
    }
    heap_node_t *victim = h.nodes[slot];
    heap_remove (&h, victim);
    s_owner (victim)->in = false;
    assert_int_equal (h.count, n - 1);
    s_verify (&h);
    for (size_t i = 0; i < h.count; i++)
        assert_true (h.nodes[i] != victim);
    int64_t last = INT64_MIN;
    size_t popped = 0;
    heap_node_t *node;
    while ((node = heap_pop (&h))) {
        assert_true (s_owner (node)->in);
        s_owner (node)->in = false;
        assert_true (node->deadline >= last);
        last = node->deadline;
        popped++;
    }
    assert_int_equal (popped, n - 1);
    heap_fini (&h);
}

static void test_remove_positions (void **state)
{
    (void) state;
    static const size_t sizes[] = { 1, 2, 3, 7, 8, 64, 65, 200 };
    for (size_t s = 0; s < sizeof sizes / sizeof sizes[0]; s++) {
        size_t n = sizes[s];
        s_remove_case (n, 0);              /* first */
        s_remove_case (n, n - 1);          /* last */
        s_remove_case (n, n / 2);          /* middle */
        s_remove_case (n, (n - 1) / 2);    /* a parent of the last */
        for (int k = 0; k < 5; k++)
            s_remove_case (n, (size_t) (s_rand () % n));
    }
}

/*  A moved-in last node that belongs above its new slot must go up:
 *  deadlines chosen so that the last leaf is smaller than the removed
 *  node's parent's other subtree. */
static void test_remove_moves_up (void **state)
{
    (void) state;
    heap_t h;
    heap_init (&h);
    /*  Slot layout after pushes in this order (already a heap):
     *        0:1
     *     1:100     2:2
     *   3:101 4:102 5:3 6:4
     *  Removing slot 3 (101) moves slot 6 (4) under slot 1 (100): it must
     *  rise above 100. */
    static const int64_t d[] = { 1, 100, 2, 101, 102, 3, 4 };
    for (int i = 0; i < 7; i++) {
        s_items[i].node.deadline = d[i];
        heap_push (&h, &s_items[i].node);
    }
    s_verify (&h);
    assert_int_equal (s_items[3].node.index, 3);
    heap_remove (&h, &s_items[3].node);
    s_verify (&h);
    assert_int_equal (s_items[6].node.index, 1);
    static const int64_t order[] = { 1, 2, 3, 4, 100, 102 };
    for (int i = 0; i < 6; i++)
        assert_int_equal (heap_pop (&h)->deadline, order[i]);
    heap_fini (&h);
}

/*  Random mix of push, pop and remove, checked after every step. */
static void test_random_mix (void **state)
{
    (void) state;
    heap_t h;
    heap_init (&h);
    int64_t now = 0;
    for (int step = 0; step < 20000; step++) {
        unsigned what = (unsigned) (s_rand () % 10);
        s_item_t *it = &s_items[s_rand () % S_N];
        if (what < 5) {
            if (!it->in) {
                it->node.deadline = now + (int64_t) (s_rand () % 1000);
                assert_int_equal (heap_push (&h, &it->node), 0);
                it->in = true;
            }
        } else if (what < 7) {
            heap_node_t *n = heap_pop (&h);
            if (n) {
                assert_true (s_owner (n)->in);
                assert_true (n->deadline >= now);
                now = n->deadline;   /* time only moves forward */
                s_owner (n)->in = false;
            }
        } else if (it->in) {
            assert_ptr_equal (h.nodes[it->node.index], &it->node);
            heap_remove (&h, &it->node);
            it->in = false;
        }
        if (step % 50 == 0)
            s_verify (&h);
    }
    s_verify (&h);
    size_t in = 0;
    for (int i = 0; i < S_N; i++)
        in += s_items[i].in;
    assert_int_equal (in, h.count);
    heap_fini (&h);
}

int main (void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup (test_empty, s_setup),
        cmocka_unit_test_setup (test_random_order, s_setup),
        cmocka_unit_test_setup (test_fifo_on_ties, s_setup),
        cmocka_unit_test_setup (test_remove_positions, s_setup),
        cmocka_unit_test_setup (test_remove_moves_up, s_setup),
        cmocka_unit_test_setup (test_random_mix, s_setup),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
