# Included by ctest after the discovered tests' own file: the busy policy's tests measure the
# whole machine's CPU, so any test running beside them would count as "other processes".
# They exit 77 (skipped) when other users keep the machine too busy to tell.
set_tests_properties(integration.guest.a_cpu_hog_pauses_the_node_until_it_ends
                     integration.guest.a_short_spike_does_not_pause
                     integration.guest.own_jobs_never_pause
                     PROPERTIES RUN_SERIAL ON SKIP_RETURN_CODE 77)
