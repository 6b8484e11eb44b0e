# cmake -DSTUDY=init_study -DEXPERIMENT=fanin_experiment -DSPEC=init_study.toml -DSEEDS=3
#       -DOUT=dir -P same_ratios.cmake
# Runs the init study program and the runner on its spec with the same seeds, and passes
# when their ratios.csv are byte-identical: the spec must reproduce the program's numbers.
file(REMOVE_RECURSE "${OUT}")
foreach(command "${STUDY};--seeds;${SEEDS};--device;cpu;--out;${OUT}/study"
                "${EXPERIMENT};run;${SPEC};--seeds;${SEEDS};--device;cpu;--out;${OUT}/experiment")
  execute_process(COMMAND ${command} RESULT_VARIABLE result OUTPUT_VARIABLE output
                  ERROR_VARIABLE output TIMEOUT 240)
  if(NOT result EQUAL 0)
    message(FATAL_ERROR "'${command}' exited with '${result}':\n${output}")
  endif()
endforeach()
execute_process(COMMAND ${CMAKE_COMMAND} -E compare_files "${OUT}/study/ratios.csv"
                        "${OUT}/experiment/ratios.csv" RESULT_VARIABLE differ)
if(NOT differ EQUAL 0)
  message(FATAL_ERROR "ratios.csv of ${SPEC} differs from ${STUDY}'s")
endif()
file(REMOVE_RECURSE "${OUT}")
