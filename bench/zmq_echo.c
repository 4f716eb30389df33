/*  bench/zmq_echo.c - the raw libzmq reference: a ROUTER that echoes
 *  Binds a ROUTER socket on the endpoint given and sends every message
 *  back, frame for frame, to the peer it came from. zmgr_bench --echo
 *  drives it with the same clients, depth and message size as a zmgr run,
 *  so the ratio zmgr/echo is what the broker adds on top of the transport.
 *  It does no decoding and no work; SIGTERM or SIGINT stop it. */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <zmq.h>

static volatile sig_atomic_t s_stop;   /* set by SIGTERM/SIGINT */

static void s_on_signal (int sig)
{
    (void) sig;
    s_stop = 1;
}

int main (int argc, char **argv)
{
    if (argc != 2 || argv[1][0] == '-') {
        fprintf (stderr, "usage: zmq_echo ENDPOINT   (e.g. ipc:///tmp/x/echo.sock)\n");
        return 2;
    }
    /*  No SA_RESTART: a blocked zmq_msg_recv returns EINTR and we stop. */
    struct sigaction sa = { .sa_handler = s_on_signal };
    sigemptyset (&sa.sa_mask);
    sigaction (SIGTERM, &sa, NULL);
    sigaction (SIGINT, &sa, NULL);

    void *ctx = zmq_ctx_new ();
    void *router = ctx ? zmq_socket (ctx, ZMQ_ROUTER) : NULL;
    int linger = 0;
    if (!router
        || zmq_setsockopt (router, ZMQ_LINGER, &linger, sizeof linger)
        || zmq_bind (router, argv[1])) {
        fprintf (stderr, "zmq_echo: bind %s: %s\n", argv[1],
                 zmq_strerror (errno));
        return 1;
    }
    int rc = 0;
    zmq_msg_t part;
    zmq_msg_init (&part);
    while (!s_stop) {
        /*  Identity frame, then the payload; forward each as it comes. */
        if (zmq_msg_recv (&part, router, 0) < 0) {
            if (errno == EINTR)
                continue;
            fprintf (stderr, "zmq_echo: recv: %s\n", zmq_strerror (errno));
            rc = 1;
            break;
        }
        int more = zmq_msg_more (&part);
        if (zmq_msg_send (&part, router, more ? ZMQ_SNDMORE : 0) < 0
            && errno != EHOSTUNREACH) {
            fprintf (stderr, "zmq_echo: send: %s\n", zmq_strerror (errno));
            rc = 1;
            break;
        }
    }
    zmq_msg_close (&part);
    zmq_close (router);
    zmq_ctx_term (ctx);
    return rc;
}
