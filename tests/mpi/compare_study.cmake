# cmake -DPROGRAM=init_study -DARGS="--seeds;2" -DMPIEXEC="mpirun;-np;2;..." -DOUT=dir
#       -DFILES="ratios.csv;runs.h5" -P compare_study.cmake
# Runs a study program alone and under MPIEXEC, each into its own directory under OUT, and
# passes when every file of FILES is byte-identical in the two reports: a distributed
# study must write what one process writes. A run that hangs fails at the time limit.
file(REMOVE_RECURSE "${OUT}")
foreach(run alone mpi)
  set(command "${PROGRAM}" ${ARGS} --device cpu --out "${OUT}/${run}")
  if(run STREQUAL "mpi")
    set(command ${MPIEXEC} ${command})
  endif()
  execute_process(COMMAND ${command} RESULT_VARIABLE result OUTPUT_VARIABLE output
                  ERROR_VARIABLE output TIMEOUT 240)
  if(NOT result EQUAL 0)
    message(FATAL_ERROR "'${command}' exited with '${result}':\n${output}")
  endif()
endforeach()
foreach(name ${FILES})
  execute_process(COMMAND ${CMAKE_COMMAND} -E compare_files "${OUT}/alone/${name}"
                          "${OUT}/mpi/${name}" RESULT_VARIABLE differ)
  if(NOT differ EQUAL 0)
    message(FATAL_ERROR "${name} differs between one process and ${MPIEXEC}")
  endif()
  message(STATUS "${name}: identical")
endforeach()
file(REMOVE_RECURSE "${OUT}")
