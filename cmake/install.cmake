# Installs the headers, the library and a CMake package, so that a downstream project can
# find_package(fanin CONFIG REQUIRED) and link fanin::fanin.
include(GNUInstallDirs)
include(CMakePackageConfigHelpers)

install(DIRECTORY ${PROJECT_SOURCE_DIR}/include/fanin DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
install(TARGETS fanin fanin_recorder fanin_plot EXPORT faninTargets
        ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR}
        LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR}
        RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
install(EXPORT faninTargets NAMESPACE fanin:: DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/fanin)
configure_package_config_file(${PROJECT_SOURCE_DIR}/cmake/faninConfig.cmake.in
                              ${PROJECT_BINARY_DIR}/faninConfig.cmake
                              INSTALL_DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/fanin)
write_basic_package_version_file(${PROJECT_BINARY_DIR}/faninConfigVersion.cmake
                                 COMPATIBILITY SameMinorVersion)
install(FILES ${PROJECT_BINARY_DIR}/faninConfig.cmake ${PROJECT_BINARY_DIR}/faninConfigVersion.cmake
        DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/fanin)
