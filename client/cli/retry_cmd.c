/*  client/cli/retry_cmd.c - dead letters and retry policy: `zmgr retry`
 *  and the submit options that say how a job is retried
 *  `zmgr retry ID` runs a dead job again (job.retry). The options
 *  --retry-on-error, --poison-kills N, --backoff-base S and --backoff-max S
 *  are this table's; submit takes them and reads them with cli_job_policy. */
#include <stdio.h>

#include "cli.h"
#include "zmgr.h"

int cli_job_policy (cli_t *cli)
{
    int64_t kills = 0;
    int rc = cli_opt_int (cli, "--poison-kills", 1, 1000, &kills);
    if (rc == CLI_EXIT_OK)
        rc = cli_opt_seconds (cli, "--backoff-base", &cli->job.backoff_base_ms);
    if (rc == CLI_EXIT_OK)
        rc = cli_opt_seconds (cli, "--backoff-max", &cli->job.backoff_max_ms);
    if (rc != CLI_EXIT_OK)
        return rc;
    if (cli->job.backoff_base_ms < 0 || cli->job.backoff_max_ms < 0)
        return cli_usage (cli, "--backoff-base and --backoff-max must be finite");
    cli->job.poison_kills = (int)kills;
    cli->job.retry_on_error = cli_opt (cli, "--retry-on-error") != NULL;
    return CLI_EXIT_OK;
}

static int s_retry (cli_t *cli)
{
    int rc = zmgr_job_retry (cli->client, cli->job_id);
    return rc ? cli_fail (cli, rc) : cli_out_bool (true);
}

static const command_t s_commands[] = {
    {NULL, "retry", "J", 0, CMD_JOBS, s_retry, "ID",
     "Run a dead job again (one whose attempts killed their worker too often): "
     "back to pending with its retries fresh; print true. Exit 2-class error "
     "codes as for status; a job that is not dead is refused (exit 1)."},
};

static const cli_option_t s_options[] = {
    {"--retry-on-error", NULL, "retry the function's own error too (else it is final)"},
    {"--poison-kills", "N",
     "the job is dead, not retried, once its attempts killed their worker N times "
     "(broker default 2)"},
    {"--backoff-base", "S", "wait S seconds before the first retry, doubling after"},
    {"--backoff-max", "S", "wait at most S seconds before a retry"},
};

const cli_table_t cli_retry_table = {s_commands, CLI_COUNT (s_commands), s_options,
                                     CLI_COUNT (s_options)};
